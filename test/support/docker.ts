/** Is a Docker engine reachable? Testcontainers is used only when it is (bounded check). */
export const dockerProbeTimeoutMs = 8_000;

export async function dockerReachable(): Promise<boolean> {
  if (process.env.TESTCONTAINERS_DISABLED === '1') return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const probe = getContainerRuntimeClient().then(() => true, () => false);
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), dockerProbeTimeoutMs).unref());
    return await Promise.race([probe, timeout]);
  } catch {
    return false;
  }
}
