/**
 * The benchmarks' HTTP client: node:http with keep-alive connections. On this 2-core machine the
 * load generator shares the CPU with the systems it measures, and `fetch` (undici with WHATWG
 * streams) cost about twice the CPU per small request; every system measured in a run (ours, etcd)
 * goes through this same client.
 */
import http from 'node:http';

/** Connections per target host; the benchmarks run at most 64 requests at once. */
export const connectionsPerHostMax = 128;
/** A request that takes longer than this has failed (counted as an error by the load loop). */
export const requestTimeoutMsMax = 60_000;

const agent = new http.Agent({ keepAlive: true, maxSockets: connectionsPerHostMax, maxFreeSockets: connectionsPerHostMax });

export interface TextResponse {
  readonly status: number;
  readonly text: string;
}

/** Requests in flight and when they started; one watchdog timer bounds them (a timer per request cost the load generator ~10% of its CPU). */
const inFlight = new Map<http.ClientRequest, number>();
let watchdog: NodeJS.Timeout | undefined;

function watch(request: http.ClientRequest, url: string): void {
  inFlight.set(request, performance.now());
  watchdog ??= setInterval(() => {
    const now = performance.now();
    for (const [pending, startedAt] of inFlight) {
      if (now - startedAt > requestTimeoutMsMax) pending.destroy(new Error(`no answer from ${url} within ${requestTimeoutMsMax} ms`));
    }
    if (inFlight.size === 0) {
      clearInterval(watchdog);
      watchdog = undefined;
    }
  }, 1_000);
  watchdog.unref();
}

/** POSTs a JSON body and returns the status and the whole answer as text. */
export function postText(url: string, body: string): Promise<TextResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        inFlight.delete(request);
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      response.on('error', (error) => {
        inFlight.delete(request);
        reject(error);
      });
    });
    watch(request, url);
    request.on('error', (error) => {
      inFlight.delete(request);
      reject(error);
    });
    request.end(body);
  });
}
