// Expected failures of the Raft core's inputs: typed values with stable snake_case codes.

import type { MembershipChangeError } from './membership.ts';

export type NotLeader = { code: 'not_leader'; leaderId: string | null };

export type ProposeError =
  | NotLeader
  | { code: 'leadership_transfer_in_progress' }
  | { code: 'proposal_too_large'; entriesMax: number };

export type MembershipProposeError =
  | ProposeError
  | MembershipChangeError
  | { code: 'membership_change_in_progress' }
  | { code: 'learner_not_caught_up'; nodeId: string };

export type TransferLeadershipError = NotLeader | { code: 'unknown_voter'; nodeId: string };

export type RaftConfigErrorCode = 'invalid_config';

/** Returned by validation, thrown by the RaftNode constructor: names the bad field. */
export class RaftConfigError extends Error {
  readonly code: RaftConfigErrorCode = 'invalid_config';
  readonly field: string;

  constructor(field: string, reason: string) {
    super(`invalid raft config: ${field}: ${reason}`);
    this.name = 'RaftConfigError';
    this.field = field;
  }
}
