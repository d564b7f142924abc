// Raft's safety properties (Figure 3), checked by the simulator after every step:
// Election Safety, Log Matching, Leader Completeness, State Machine Safety, plus monotonic
// commit and term per node. Violations are collected, not thrown, so the run reports its seed.

import type { Entry } from '../entry.ts';
import type { RaftNode } from '../raft-node.ts';
import { fnv1a } from './trace-hash.ts';

export type SafetyProperty =
  | 'election_safety'
  | 'log_matching'
  | 'leader_completeness'
  | 'state_machine_safety'
  | 'monotonic_commit'
  | 'monotonic_term'
  | 'linearizability'
  | 'liveness'
  | 'assertion';

export interface Violation {
  readonly property: SafetyProperty;
  readonly time: number;
  readonly detail: string;
}

interface EntryIdentity {
  readonly term: number;
  readonly digest: number;
}

function digestOf(entry: Entry): number {
  return (fnv1a(entry.data) ^ (entry.kind === 'normal' ? 0 : entry.kind === 'noop' ? 0x5bd1e995 : 0x1b873593)) >>> 0;
}

const violationsMax = 16;

export class SafetyChecker {
  readonly violations: Violation[] = [];
  readonly #leaderOfTerm = new Map<number, string>();
  /** (index:term) → digest and the term of the previous entry (Log Matching by induction). */
  readonly #entryIdentity = new Map<string, { digest: number; previousTerm: number }>();
  /** Globally committed entries by index (committed on any node). */
  readonly #committed: (EntryIdentity | undefined)[] = [];
  #committedMax = 0;
  readonly #lastSeen = new Map<string, { term: number; commit: number; role: string; incarnation: number }>();

  report(property: SafetyProperty, time: number, detail: string): void {
    if (this.violations.length < violationsMax) this.violations.push({ property, time, detail });
  }

  /** Entries a node appended (a Ready's entries), checked before they are persisted. */
  observeAppended(node: RaftNode, entries: readonly Entry[], time: number): void {
    for (const entry of entries) {
      const previousTerm = node.termAt(entry.index - 1) ?? -1;
      const key = `${entry.index}:${entry.term}`;
      const digest = digestOf(entry);
      const known = this.#entryIdentity.get(key);
      if (known === undefined) {
        this.#entryIdentity.set(key, { digest, previousTerm });
      } else if (known.digest !== digest || (known.previousTerm !== previousTerm && previousTerm !== -1 && known.previousTerm !== -1)) {
        this.report('log_matching', time, `${node.id} holds a different entry ${key} than another node`);
      }
    }
  }

  /** Entries a node applies, in order (State Machine Safety). */
  observeApplied(nodeId: string, entries: readonly Entry[], time: number): void {
    for (const entry of entries) this.#checkCommitted(nodeId, entry.index, entry.term, digestOf(entry), time);
  }

  /** Called after every step with the node's current status. */
  observeNode(node: RaftNode, incarnation: number, time: number): void {
    const status = node.status();
    const last = this.#lastSeen.get(status.id);
    const sameIncarnation = last !== undefined && last.incarnation === incarnation;
    if (last !== undefined && status.term < last.term && sameIncarnation) {
      this.report('monotonic_term', time, `${status.id} term went from ${last.term} to ${status.term}`);
    }
    if (sameIncarnation && status.commitIndex < last.commit) {
      this.report('monotonic_commit', time, `${status.id} commit went from ${last.commit} to ${status.commitIndex}`);
    }
    if (status.role === 'leader') {
      const leader = this.#leaderOfTerm.get(status.term);
      if (leader === undefined) this.#leaderOfTerm.set(status.term, status.id);
      else if (leader !== status.id) {
        this.report('election_safety', time, `two leaders in term ${status.term}: ${leader} and ${status.id}`);
      }
      const becameLeader = !sameIncarnation || last.role !== 'leader' || last.term !== status.term;
      if (becameLeader) this.#checkLeaderCompleteness(node, time);
    }
    const previousCommit = sameIncarnation ? last.commit : 0;
    if (status.commitIndex > previousCommit) {
      const from = Math.max(previousCommit + 1, status.firstIndex);
      for (let index = from; index <= status.commitIndex; index++) {
        const entry = node.entryAt(index);
        this.#checkCommitted(status.id, index, entry.term, digestOf(entry), time);
      }
    }
    this.#lastSeen.set(status.id, { term: status.term, commit: status.commitIndex, role: status.role, incarnation });
  }

  /** The durable commit index must never regress either (it survives crashes). */
  observeDurableCommit(nodeId: string, before: number, after: number, time: number): void {
    if (after < before) this.report('monotonic_commit', time, `${nodeId} durable commit went from ${before} to ${after}`);
  }

  get committedMax(): number {
    return this.#committedMax;
  }

  #checkCommitted(nodeId: string, index: number, term: number, digest: number, time: number): void {
    const known = this.#committed[index];
    if (known === undefined) {
      this.#committed[index] = { term, digest };
      if (index > this.#committedMax) this.#committedMax = index;
    } else if (known.term !== term || known.digest !== digest) {
      this.report('state_machine_safety', time, `${nodeId} committed ${index}:${term}, but ${index}:${known.term} was committed before`);
    }
  }

  #checkLeaderCompleteness(node: RaftNode, time: number): void {
    const status = node.status();
    for (let index = status.firstIndex; index <= this.#committedMax; index++) {
      const committed = this.#committed[index];
      if (committed === undefined) continue;
      const term = node.termAt(index);
      if (term !== committed.term) {
        this.report('leader_completeness', time, `leader ${status.id} of term ${status.term} lacks committed entry ${index}:${committed.term}`);
        return;
      }
    }
  }
}
