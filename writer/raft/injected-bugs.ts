// Deliberate bugs the simulator must catch (issue 3, item 8). All off by default; only tests and
// `npm run sim -- --bug <name>` switch one on.

export interface InjectedBugs {
  /** Commit a previous term's entry once a majority stores it (violates §5.4.2, Figure 8). */
  readonly commitPreviousTermByCounting: boolean;
  /** Grant a vote even after voting for another candidate in the same term (violates §5.2). */
  readonly doubleVote: boolean;
  /** Resolve a read barrier at the current commit index without a log entry (stale reads). */
  readonly readWithoutBarrier: boolean;
  /** Persist the hard state without votedFor (violates Figure 2's persistent state). */
  readonly forgetToPersistVote: boolean;
}

export type InjectedBugName = keyof InjectedBugs;

export const injectedBugNames: readonly InjectedBugName[] = [
  'commitPreviousTermByCounting',
  'doubleVote',
  'readWithoutBarrier',
  'forgetToPersistVote',
];

export const noInjectedBugs: InjectedBugs = {
  commitPreviousTermByCounting: false,
  doubleVote: false,
  readWithoutBarrier: false,
  forgetToPersistVote: false,
};

export function isInjectedBugName(name: string): name is InjectedBugName {
  return (injectedBugNames as readonly string[]).includes(name);
}
