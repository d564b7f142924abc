// The leader's view of one follower's log (etcd's Progress): `probe` sends one AppendEntries at a
// time until the follower's position is found; `replicate` pipelines up to inflightMessagesMax
// messages; `snapshot` streams an InstallSnapshot in chunks, one chunk in flight.

import assert from 'node:assert/strict';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  matchIndex = 0;
  nextIndex: number;
  state: ProgressState = 'probe';
  /** Probe: a message is out and unanswered; wait for a reply or heartbeat response. */
  probeSent = false;
  /** Heard from since the last check-quorum round (§6.2). */
  recentActive = false;
  /** Last index carried by each in-flight AppendEntries, oldest first (at most inflightMessagesMax). */
  readonly inflight: number[] = [];
  snapshotIndex = 0;
  snapshotTerm = 0;
  /** Bytes of the snapshot the follower acknowledged. */
  snapshotOffset = 0;

  constructor(nextIndex: number) {
    this.nextIndex = nextIndex;
  }

  becomeProbe(): void {
    this.state = 'probe';
    this.probeSent = false;
    this.inflight.length = 0;
    this.nextIndex = Math.max(this.nextIndex, this.matchIndex + 1);
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.inflight.length = 0;
    this.nextIndex = this.matchIndex + 1;
  }

  becomeSnapshot(index: number, term: number): void {
    this.state = 'snapshot';
    this.inflight.length = 0;
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.snapshotOffset = 0;
  }

  /** A follower acknowledged entries up to `index`; false when the acknowledgement is stale. */
  acknowledge(index: number): boolean {
    if (index <= this.matchIndex) return false;
    this.matchIndex = index;
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    let freed = 0;
    while (freed < this.inflight.length && this.inflight[freed]! <= index) freed++;
    if (freed > 0) this.inflight.splice(0, freed);
    assert(this.nextIndex > this.matchIndex);
    return true;
  }
}
