// Every Redis key and channel name of one veer installation, in one place, so the layout can be read
// (and changed) without hunting through the modules that use it. Each name starts with
// `<prefix>:{<prefix>}`: the hash tag puts all of an installation's keys in one Redis Cluster slot, so
// a Lua script may touch any of them together (a fenced write reads the fence and writes a value).
import type { PoolName } from '../domain/pool.js';

/** The part every key of the installation starts with. */
export const installationBase = (prefix: string): string => `${prefix}:{${prefix}}`;

// --- the state store (redis.ts) ---

/** Hash of one stored value: field STATE_FIELD.version (1, 2, …) and STATE_FIELD.data (JSON). */
export const stateKey = (prefix: string, key: string): string => `${installationBase(prefix)}:state:${key}`;
/** The fields of a state hash. */
export const STATE_FIELD = { version: 'v', data: 'd' } as const;
/** Pub/sub channel of `{key, version}` per write, version 0 for a delete. */
export const changesChannel = (prefix: string): string => `${installationBase(prefix)}:changes`;

// --- leadership (lease.ts) ---

/** `<id>|<token>` of the replica holding the lease, with a TTL. */
export const leaderKey = (prefix: string): string => `${installationBase(prefix)}:leader`;
/** The fencing token counter: INCRed on every acquisition, checked by every fenced write. */
export const fenceKey = (prefix: string): string => `${installationBase(prefix)}:fence`;

// --- membership (replicas.ts) ---

/** Sorted set of replica ids, scored by their last heartbeat (ms since the epoch). */
export const replicasKey = (prefix: string): string => `${installationBase(prefix)}:replicas`;
/** Start of each replica's info hash name; the id follows (Lua scripts append it themselves). */
export const replicaHashPrefix = (prefix: string): string => `${installationBase(prefix)}:replica:`;
export const replicaKey = (prefix: string, id: string): string => `${replicaHashPrefix(prefix)}${id}`;

// --- shared metrics (metrics/flusher.ts, metrics/merged-source.ts) ---

/** Hash of one (service, pool, second): every replica HINCRBYs its counts into it. */
export const metricKey = (prefix: string, service: string, pool: PoolName, sec: number): string =>
  `${installationBase(prefix)}:m:${service}:${pool}:${sec}`;
/** Sorted set whose one member (FLUSHED_MEMBER) scores the newest second any replica has flushed. */
export const flushedMarkerKey = (prefix: string): string => `${installationBase(prefix)}:m:flushed`;
export const FLUSHED_MEMBER = 'newest';

// --- rollout events (rollout/event-relay.ts) ---

/** Pub/sub channel every replica publishes its own rollout events on. */
export const eventsChannel = (prefix: string): string => `${installationBase(prefix)}:events`;

// --- ACME (acme/): state-store keys (not Redis names; every adapter stores them) ---

/** The ACME account: its private key (sealed as configured) and URL. */
export const ACME_ACCOUNT_KEY = 'acme/account';
/** Start of the certificate keys; the host follows. */
export const ACME_CERTIFICATE_PREFIX = 'acme/certificate/';
/** One host's certificate: chain, private key (sealed as configured), validity. */
export const acmeCertificateKey = (host: string): string => `${ACME_CERTIFICATE_PREFIX}${host}`;
/** Start of the HTTP-01 challenge keys; the token follows. */
export const ACME_CHALLENGE_PREFIX = 'acme/challenge/';
/** An HTTP-01 key authorization being validated, by its token: any replica answers it. */
export const acmeChallengeKey = (token: string): string => `${ACME_CHALLENGE_PREFIX}${token}`;
/** Start of the tls-alpn-01 challenge keys; the host follows. */
export const ACME_ALPN_PREFIX = 'acme/alpn/';
/** A tls-alpn-01 challenge certificate being validated, by host: any replica's HTTPS port answers it. */
export const acmeAlpnKey = (host: string): string => `${ACME_ALPN_PREFIX}${host}`;
