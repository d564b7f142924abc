/**
 * HTTP headers shared between the services (part of the writer's client contract, README "The
 * writer cluster").
 */

/**
 * On an answer a follower relayed from the leader: the leader's client URL, so a client that
 * talks to the cluster often (the query API's barrier calls) can go straight there next time.
 */
export const leaderUrlHeader = 'x-ledger-leader-url';
