/**
 * The writer node's client HTTP API (DESIGN.md §4). Built without listening so tests can use
 * `app.inject()`; writer/server.ts listens.
 *
 * Any node accepts requests. The leader decides and answers; a follower forwards the request to
 * the leader and relays the answer (once: a forwarded request that reaches a non-leader is not
 * forwarded again). While no leader is known — or the known one refuses connections, as a dead
 * leader does until the election that follows — a request waits up to `leaderWaitMsMax`, then
 * gets 503 with Retry-After. A forwarded request still waiting for its answer when this node's
 * leader changes (the leader was paused or cut off, and the others moved on) is answered 503
 * leadership_changed at once rather than after forwardTimeoutMs.
 * Outcome-unknown failures (leadership changed, commit timeout) are 503 too:
 * the client retries with the same ids, and idempotency makes that safe.
 */
import Type from 'typebox';
import type { FastifyReply } from 'fastify';
import { createHttpApp, type HttpApp } from '../../common/http/create-app.ts';
import { leaderUrlHeader } from '../../common/http/headers.ts';
import type { Logger } from '../../common/logger.ts';
import { amountMax, type AccountInput, type LedgerState, type TransferInput } from '../ledger/index.ts';
import { registerAdminRoutes, type AdminEventSource } from './admin-routes.ts';
import type { ClusterView, NodeError, NodeResult, WriteCommand, WriteOutcome, Position as NodePosition } from '../node/writer-node.ts';
import type { MembershipChange } from '../raft/membership.ts';
import type { WriterMetrics } from './metrics.ts';
import { CreateAccountsBody, CreateTransfersBody, ErrorResponse, Position, WriteResponse } from './request-schemas.ts';

/** What the HTTP layer needs from the node (WriterNode implements it). */
export interface WriterService {
  submit(command: WriteCommand): Promise<NodeResult<WriteOutcome>>;
  barrier(): Promise<NodeResult<NodePosition>>;
  cluster(options?: { digest?: boolean }): ClusterView;
  /** Resolves when the leader changes, after `timeoutMs`, or once `signal` aborts. */
  waitForLeaderChange(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** The leader this node knows of (null during an election). */
  readonly leaderId: string | null;
  changeMembership(change: MembershipChange): Promise<NodeResult<WriteOutcome>>;
  transferLeadership(to: string): NodeResult<{ readonly to: string }>;
  readonly committedState: LedgerState;
  readonly eventSource: AdminEventSource;
}

export interface WriterAppDependencies {
  readonly nodeId: string;
  readonly shard: number;
  readonly service: WriterService;
  readonly clientUrls: Readonly<Record<string, string>>;
  readonly log: Logger;
  readonly metrics: WriterMetrics;
  readonly storageStats?: () => { fsyncs: number; fsyncSecondsTotal: number };
  readonly limits?: Partial<WriterHttpLimits>;
}

export interface WriterHttpLimits {
  readonly bodyLimitBytes: number;
  readonly leaderWaitMsMax: number;
  readonly forwardTimeoutMs: number;
}

export const writerHttpLimitsDefault: WriterHttpLimits = {
  bodyLimitBytes: 4 * 1024 * 1024,
  leaderWaitMsMax: 3_000,
  forwardTimeoutMs: 15_000,
};

const forwardedHeader = 'x-ledger-forwarded-by';

/** What a request handled by the leader (here, or relayed from it) answers. */
interface LeaderAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly retryAfter?: boolean;
  /** Set when the leader answered through this node: its client URL (`x-ledger-leader-url`). */
  readonly leaderUrl?: string;
}

function sendAnswer(reply: FastifyReply, answer: LeaderAnswer): FastifyReply {
  if (answer.retryAfter) reply.header('retry-after', retryAfterSeconds);
  if (answer.leaderUrl !== undefined) reply.header(leaderUrlHeader, answer.leaderUrl);
  return reply.status(answer.status as 200).send(answer.body as never);
}

/** While the known leader refuses connections, how often a held request looks for another leader. */
const notDeliveredRetryMs = 50;

/** The connection itself was refused: the request was never sent, so it is safe to send elsewhere. */
function connectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return cause?.code === 'ECONNREFUSED';
}
const retryAfterSeconds = '1';

class BadField extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field} ${message}`);
    this.field = field;
  }
}

function toAccounts(body: CreateAccountsBody): AccountInput[] {
  return body.accounts.map((account) => ({ ...account }));
}

function toTransfers(body: CreateTransfersBody): TransferInput[] {
  return body.transfers.map((transfer, index) => {
    if (transfer.amount === undefined) return { ...transfer, amount: undefined };
    const amount = BigInt(transfer.amount);
    if (amount > amountMax) throw new BadField(`body.transfers[${index}].amount`, `must be at most ${amountMax}`);
    return { ...transfer, amount };
  });
}

function statusOf(error: NodeError): number {
  switch (error.code) {
    case 'rejected':
      return 400;
    case 'not_leader':
    case 'leadership_changed':
    case 'commit_timeout':
    case 'overloaded':
    case 'stopped':
      return 503;
    default: {
      const _exhaustive: never = error;
      throw new Error(`unknown error ${JSON.stringify(_exhaustive)}`);
    }
  }
}

function describe(error: NodeError): { error: string; message: string; leaderId?: string | null } {
  switch (error.code) {
    case 'rejected':
      return { error: error.reason, message: error.message };
    case 'not_leader':
      return { error: 'no_leader', message: 'no leader is known right now (election in progress); retry', leaderId: error.leaderId };
    case 'leadership_changed':
      return { error: 'leadership_changed', message: 'leadership changed before the write committed; outcome unknown — retry with the same ids', leaderId: error.leaderId };
    case 'commit_timeout':
      return { error: 'commit_timeout', message: 'the write did not commit in time; outcome unknown — retry with the same ids' };
    case 'overloaded':
      return { error: 'overloaded', message: 'too many requests are waiting for commit; retry shortly' };
    case 'stopped':
      return { error: 'stopping', message: 'this node is shutting down; retry on another node' };
    default: {
      const _exhaustive: never = error;
      throw new Error(`unknown error ${JSON.stringify(_exhaustive)}`);
    }
  }
}

export function buildWriterApp(dependencies: WriterAppDependencies): HttpApp {
  const { nodeId, shard, service, clientUrls, metrics } = dependencies;
  const limits = { ...writerHttpLimitsDefault, ...dependencies.limits };
  const app = createHttpApp({ log: dependencies.log, bodyLimitBytes: limits.bodyLimitBytes });

  app.addHook('onResponse', async (request, reply) => {
    metrics.requestSeconds.observe({ route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  /** Runs `attempt` here, forwarding to the leader or waiting out an election as needed. */
  async function leaderCall<T>(
    route: string, rawBody: unknown, alreadyForwarded: boolean, attempt: () => Promise<NodeResult<T>>,
  ): Promise<LeaderAnswer> {
    const deadline = Date.now() + limits.leaderWaitMsMax;
    while (true) {
      const result = await attempt();
      if (result.ok) return { status: 200, body: result.value };
      const error = result.error;
      if (error.code === 'not_leader' && error.leaderId !== null && error.leaderId !== nodeId && !alreadyForwarded) {
        const target = clientUrls[error.leaderId];
        if (target !== undefined) {
          const forwarded = await forward(route, target, error.leaderId, rawBody);
          if (forwarded !== 'not_delivered') return forwarded;
          // The leader we know of refused the connection (it died; an election follows): the
          // request never left, so hold it until another leader is known, then forward it there.
          if (Date.now() < deadline) {
            await service.waitForLeaderChange(Math.max(1, Math.min(deadline - Date.now(), notDeliveredRetryMs)));
            continue;
          }
          return unreachable();
        }
      }
      if (error.code === 'not_leader' && Date.now() < deadline) {
        await service.waitForLeaderChange(Math.max(1, deadline - Date.now()));
        continue;
      }
      return { status: statusOf(error), body: describe(error), retryAfter: statusOf(error) === 503 };
    }
  }

  function unreachable(): LeaderAnswer {
    return { status: 503, body: { error: 'leader_unreachable', message: 'the leader did not answer; outcome unknown — retry with the same ids' }, retryAfter: true };
  }

  /**
   * Relays the leader's answer; `not_delivered` when the connection was refused (nothing was sent).
   * Gives up (outcome unknown) when this node stops following `leaderId` before the answer comes.
   */
  async function forward(route: string, target: string, leaderId: string, rawBody: unknown): Promise<LeaderAnswer | 'not_delivered'> {
    metrics.forwarded.inc({ route });
    const leaderMoved = new AbortController();
    void watchLeader(leaderId, leaderMoved);
    try {
      const response = await fetch(new URL(route, target), {
        method: 'POST',
        headers: { 'content-type': 'application/json', [forwardedHeader]: nodeId },
        body: JSON.stringify(rawBody ?? {}),
        signal: AbortSignal.any([AbortSignal.timeout(limits.forwardTimeoutMs), leaderMoved.signal]),
      });
      return { status: response.status, body: await response.json(), retryAfter: response.status === 503, leaderUrl: target };
    } catch (error) {
      if (connectionRefused(error)) return 'not_delivered';
      if (leaderMoved.signal.aborted) {
        dependencies.log.info({ target, route, was: leaderId, now: service.leaderId }, 'leader changed while a forwarded request waited: answering outcome unknown');
        return { status: 503, body: describe({ code: 'leadership_changed', leaderId: service.leaderId }), retryAfter: true };
      }
      dependencies.log.warn({ err: error, target, route }, 'forwarding to the leader failed');
      return unreachable();
    } finally {
      leaderMoved.abort();
    }
  }

  /** Aborts `controller` once this node's leader is no longer `leaderId`; ends when it is aborted. */
  async function watchLeader(leaderId: string, controller: AbortController): Promise<void> {
    while (!controller.signal.aborted) {
      if (service.leaderId !== leaderId) {
        controller.abort();
        return;
      }
      await service.waitForLeaderChange(limits.forwardTimeoutMs, controller.signal);
    }
  }

  const errorResponses = { 400: ErrorResponse, 413: ErrorResponse, 503: ErrorResponse };

  app.post('/v1/accounts', { schema: { body: CreateAccountsBody, response: { 200: WriteResponse, ...errorResponses } } }, async (request, reply) => {
    metrics.batchItems.observe({ kind: 'accounts' }, request.body.accounts.length);
    const command: WriteCommand = { type: 'CreateAccounts', data: { accounts: toAccounts(request.body) } };
    const answer = await leaderCall('/v1/accounts', request.body, request.headers[forwardedHeader] !== undefined, () => service.submit(command));
    return sendAnswer(reply, answer);
  });

  app.post('/v1/transfers', { schema: { body: CreateTransfersBody, response: { 200: WriteResponse, ...errorResponses } } }, async (request, reply) => {
    let transfers: TransferInput[];
    try {
      transfers = toTransfers(request.body);
    } catch (error) {
      if (error instanceof BadField) return reply.status(400).send({ error: 'invalid_request', message: error.message, field: error.field });
      throw error;
    }
    metrics.batchItems.observe({ kind: 'transfers' }, transfers.length);
    const command: WriteCommand = { type: 'CreateTransfers', data: { transfers } };
    const answer = await leaderCall('/v1/transfers', request.body, request.headers[forwardedHeader] !== undefined, () => service.submit(command));
    return sendAnswer(reply, answer);
  });

  app.post('/v1/barrier', { schema: { response: { 200: Position, 503: ErrorResponse } } }, async (request, reply) => {
    const answer = await leaderCall('/v1/barrier', {}, request.headers[forwardedHeader] !== undefined, () => service.barrier());
    return sendAnswer(reply, answer);
  });

  const ClusterResponse = Type.Object({
    nodeId: Type.String(), shard: Type.Integer(), role: Type.String(), term: Type.Integer(), leaderId: Type.Union([Type.String(), Type.Null()]),
    commitIndex: Type.Integer(), appliedIndex: Type.Integer(), lastIndex: Type.Integer(), lastSeq: Type.Integer(),
    publishedSeq: Type.Integer(),
    publisher: Type.Object({
      state: Type.String(), publishedSeq: Type.Union([Type.Integer(), Type.Null()]),
      lagEvents: Type.Union([Type.Integer(), Type.Null()]), lagMs: Type.Union([Type.Integer(), Type.Null()]),
      publishedEvents: Type.Integer(), transactions: Type.Integer(), retries: Type.Integer(), restarts: Type.Integer(),
      lastError: Type.Union([Type.String(), Type.Null()]),
    }),
    votingBlocked: Type.Boolean(),
    snapshots: Type.Object({ taken: Type.Integer(), installed: Type.Integer() }),
    tickStalls: Type.Integer(),
    voters: Type.Array(Type.String()), learners: Type.Array(Type.String()),
    peers: Type.Array(Type.Object({ id: Type.String(), clientUrl: Type.String() })),
    stateDigest: Type.Optional(Type.String()),
  });
  const ClusterQuery = Type.Object({ digest: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) }, { additionalProperties: false });
  app.get('/v1/cluster', { schema: { querystring: ClusterQuery, response: { 200: ClusterResponse } } }, async (request) => {
    const view = service.cluster({ digest: request.query.digest === 'true' });
    return { ...view, voters: [...view.voters], learners: [...view.learners], peers: Object.entries(clientUrls).map(([id, clientUrl]) => ({ id, clientUrl })) };
  });

  const Health = Type.Object({ status: Type.Literal('ok'), component: Type.Literal('writer'), nodeId: Type.String(), shard: Type.Integer(), role: Type.String(), leaderId: Type.Union([Type.String(), Type.Null()]) });
  app.get('/health', { schema: { response: { 200: Health } } }, async () => {
    const view = service.cluster();
    return { status: 'ok' as const, component: 'writer' as const, nodeId, shard, role: view.role, leaderId: view.leaderId };
  });

  registerAdminRoutes(app, () => service.committedState, service.eventSource);

  const NodeIdParam = Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' });
  const MembershipBody = Type.Object({
    change: Type.Union([Type.Literal('add_learner'), Type.Literal('promote'), Type.Literal('remove')]),
    nodeId: NodeIdParam,
  }, { additionalProperties: false });
  app.post('/v1/admin/membership', { schema: { body: MembershipBody, response: { 200: Type.Object({ position: Position }), 400: ErrorResponse, 503: ErrorResponse } } }, async (request, reply) => {
    const change = { type: request.body.change, data: { nodeId: request.body.nodeId } } as MembershipChange;
    const answer = await leaderCall('/v1/admin/membership', request.body, request.headers[forwardedHeader] !== undefined, async () => {
      const result = await service.changeMembership(change);
      return result.ok ? { ok: true as const, value: { position: result.value.position } } : result;
    });
    return sendAnswer(reply, answer);
  });

  const LeadershipBody = Type.Object({ to: NodeIdParam }, { additionalProperties: false });
  app.post('/v1/admin/leadership', { schema: { body: LeadershipBody, response: { 200: Type.Object({ to: Type.String() }), 400: ErrorResponse, 503: ErrorResponse } } }, async (request, reply) => {
    const answer = await leaderCall('/v1/admin/leadership', request.body, request.headers[forwardedHeader] !== undefined, async () => service.transferLeadership(request.body.to));
    return sendAnswer(reply, answer);
  });

  app.get('/metrics', async (_request, reply) => {
    metrics.refresh(service.cluster(), dependencies.storageStats?.());
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return app;
}
