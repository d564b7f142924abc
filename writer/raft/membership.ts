// Cluster membership: voters decide elections and commitment; learners only receive the log.
// Changes are single-server (Raft thesis §4.1): one change per entry, effective on append, and a
// leader accepts a new change only once the previous one committed.

import assert from 'node:assert/strict';

export interface Membership {
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

export type MembershipChange =
  | { type: 'add_learner'; data: { nodeId: string } }
  | { type: 'promote'; data: { nodeId: string } }
  | { type: 'remove'; data: { nodeId: string } };

export type MembershipChangeError =
  | { code: 'node_already_member'; nodeId: string }
  | { code: 'node_not_learner'; nodeId: string }
  | { code: 'node_not_member'; nodeId: string }
  | { code: 'last_voter'; nodeId: string };

export const emptyMembership: Membership = { voters: [], learners: [] };

export function isVoter(membership: Membership, nodeId: string): boolean {
  return membership.voters.includes(nodeId);
}

export function isMember(membership: Membership, nodeId: string): boolean {
  return membership.voters.includes(nodeId) || membership.learners.includes(nodeId);
}

/** Votes needed to win an election or commit an entry. */
export function quorumSize(membership: Membership): number {
  return Math.floor(membership.voters.length / 2) + 1;
}

export function applyMembershipChange(
  membership: Membership,
  change: MembershipChange,
): { ok: true; membership: Membership } | { ok: false; error: MembershipChangeError } {
  const nodeId = change.data.nodeId;
  switch (change.type) {
    case 'add_learner':
      if (isMember(membership, nodeId)) return { ok: false, error: { code: 'node_already_member', nodeId } };
      return { ok: true, membership: { voters: membership.voters, learners: [...membership.learners, nodeId] } };
    case 'promote':
      if (!membership.learners.includes(nodeId)) return { ok: false, error: { code: 'node_not_learner', nodeId } };
      return {
        ok: true,
        membership: {
          voters: [...membership.voters, nodeId],
          learners: membership.learners.filter((id) => id !== nodeId),
        },
      };
    case 'remove':
      if (!isMember(membership, nodeId)) return { ok: false, error: { code: 'node_not_member', nodeId } };
      if (membership.voters.length === 1 && membership.voters[0] === nodeId) {
        return { ok: false, error: { code: 'last_voter', nodeId } };
      }
      return {
        ok: true,
        membership: {
          voters: membership.voters.filter((id) => id !== nodeId),
          learners: membership.learners.filter((id) => id !== nodeId),
        },
      };
    default: {
      const _exhaustive: never = change;
      return _exhaustive;
    }
  }
}

/** The payload of a `membership` entry: the change and the membership that results from it. */
export interface MembershipEntryData {
  readonly change: MembershipChange | null; // null: the bootstrap membership
  readonly membership: Membership;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function encodeMembershipEntry(data: MembershipEntryData): Uint8Array {
  return textEncoder.encode(JSON.stringify(data));
}

export function decodeMembershipEntry(bytes: Uint8Array): MembershipEntryData {
  const parsed: unknown = JSON.parse(textDecoder.decode(bytes));
  assert(typeof parsed === 'object' && parsed !== null, 'membership entry must be an object');
  const value = parsed as MembershipEntryData;
  assert(Array.isArray(value.membership.voters) && Array.isArray(value.membership.learners));
  return value;
}
