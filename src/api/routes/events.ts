// Rollout events: a JSON page of recent ones, or a live server-sent-events stream (replay first,
// then live). Open streams are ended when the app closes, or app.close() would wait on them forever.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError, err, ok, type Result } from '../../domain/errors.js';
import type { RolloutEvent } from '../../domain/rollout.js';
import { sendError } from '../errors.js';
import type { AdminDeps } from '../ports.js';
import { unknownService } from '../service-name.js';
import { answerStreamHead, epochOf, openEventStream, parseEventId, type EventId } from '../sse.js';

export const DEFAULT_EVENT_LIMIT = 100;
export const DEFAULT_REPLAY = 20;
export const MAX_EVENTS = 1000;

export interface EventRouteOptions {
  keepaliveMs?: number;
}

interface NameParams {
  name: string;
}
export type Query = Record<string, string | string[] | undefined>;

export function eventRoutes(app: FastifyInstance, deps: AdminDeps, opts: EventRouteOptions = {}): void {
  const streams = new Set<{ end(): void }>();
  app.addHook('preClose', async () => {
    for (const s of [...streams]) s.end();
  });

  const stream = (
    request: FastifyRequest<{ Querystring: Query }>,
    reply: FastifyReply,
    service: string | null,
  ): FastifyReply => {
    const replay = replayFor(request, deps, service);
    if (!replay.ok) return sendError(reply, replay.error);
    if (request.method === 'HEAD') return answerStreamHead(reply);
    const s = openEventStream(reply, deps.events, { service, replay: replay.value, keepaliveMs: opts.keepaliveMs });
    streams.add(s);
    void s.closed.then(() => streams.delete(s));
    return reply;
  };

  app.get<{ Querystring: Query }>('/v1/events', async (request, reply) => {
    const checked = eventParams(request.query);
    if (!checked.ok) return sendError(reply, checked.error);
    const one = oneParam(request.query, 'service');
    if (!one.ok) return sendError(reply, one.error);
    const service = one.value ?? null;
    if (service !== null && !deps.services.get(service)) return sendError(reply, unknownService(service));
    if (!wantsStream(request) && acceptsJson(request)) return page(request, reply, deps, service);
    return stream(request, reply, service);
  });

  app.get<{ Params: NameParams; Querystring: Query }>('/v1/services/:name/events', async (request, reply) => {
    const { name } = request.params;
    if (!deps.services.get(name)) return sendError(reply, unknownService(name));
    const checked = eventParams(request.query);
    if (!checked.ok) return sendError(reply, checked.error);
    if (wantsStream(request)) return stream(request, reply, name);
    return page(request, reply, deps, name);
  });
}

function page(
  request: FastifyRequest<{ Querystring: Query }>,
  reply: FastifyReply,
  deps: AdminDeps,
  service: string | null,
): FastifyReply | { events: unknown[] } {
  const limit = intParam(request.query, 'limit', DEFAULT_EVENT_LIMIT, 1);
  if (!limit.ok) return sendError(reply, limit.error);
  return { events: deps.events.recent(service, limit.value) };
}

/**
 * Both forms' parameters checked whichever form answers: a page ignored `replay=abc` or `lastEventId=abc`, and a
 * stream `limit=abc`, so a typo went unnoticed. (Names it does not know are left alone: a cache-busting `?_=…`
 * is no mistake.)
 */
function eventParams(query: Query): Result<void, ValidationError> {
  const limit = intParam(query, 'limit', DEFAULT_EVENT_LIMIT, 1);
  if (!limit.ok) return limit;
  const replay = intParam(query, 'replay', DEFAULT_REPLAY, 0);
  if (!replay.ok) return replay;
  const id = oneParam(query, 'lastEventId');
  if (!id.ok) return id;
  return id.value === undefined || id.value.trim() === '' || parseEventId(id.value) !== null
    ? ok(undefined)
    : badEventId('lastEventId');
}

const badEventId = (from: string) =>
  err(
    new ValidationError([
      { path: from, message: 'expected an event id as the stream sent it (<epoch>-<seq>) or a sequence number' },
    ]),
  );

/** The id to resume after: the Last-Event-ID header (an EventSource's reconnect), else `?lastEventId=`. */
function resumeId(request: FastifyRequest<{ Querystring: Query }>): Result<EventId | null, ValidationError> {
  const header = request.headers['last-event-id'];
  const param = oneParam(request.query, 'lastEventId');
  if (!param.ok) return param;
  const fromHeader = Array.isArray(header) ? header[0] : header;
  const [raw, from] =
    fromHeader !== undefined && fromHeader.trim() !== '' ? [fromHeader, 'Last-Event-ID'] : [param.value, 'lastEventId'];
  if (raw === undefined || raw.trim() === '') return ok(null);
  const id = parseEventId(raw);
  return id === null ? badEventId(from) : ok(id);
}

/**
 * With a resume id: every held event newer than it; otherwise the newest `replay`. An id from another event
 * log (another epoch: a restart, another replica; or a bare seq beyond this log's newest) says nothing about
 * this log's events, so every held one is replayed: a client may see some twice, but misses none.
 */
function replayFor(
  request: FastifyRequest<{ Querystring: Query }>,
  deps: AdminDeps,
  service: string | null,
): Result<RolloutEvent[], ValidationError> {
  const id = resumeId(request);
  if (!id.ok) return id;
  if (id.value === null) {
    const replay = intParam(request.query, 'replay', DEFAULT_REPLAY, 0);
    return replay.ok ? ok(deps.events.recent(service, replay.value)) : replay;
  }
  const { epoch, seq } = id.value;
  const held = deps.events.recent(service, MAX_EVENTS);
  const newest = deps.events.recent(null, 1)[0]?.seq ?? 0;
  const ours = epoch === null ? seq <= newest : epoch === epochOf(deps.events);
  return ok(ours ? held.filter((e) => e.seq > seq) : held);
}

export function intParam(
  query: Query,
  name: string,
  def: number,
  min: number,
  max = MAX_EVENTS,
): Result<number, ValidationError> {
  const one = oneParam(query, name);
  if (!one.ok) return one;
  const raw = one.value;
  if (raw === undefined || raw === '') return ok(def);
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    return err(new ValidationError([{ path: name, message: `expected an integer from ${min} to ${max}` }]));
  }
  return ok(n);
}

/** A parameter given twice is refused: taking either value would silently ignore the other. */
function oneParam(query: Query, name: string): Result<string | undefined, ValidationError> {
  const v = query[name];
  if (!Array.isArray(v)) return ok(v);
  return err(new ValidationError([{ path: name, message: 'given more than once (expected a single value)' }]));
}

function wantsStream(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').toLowerCase().includes('text/event-stream');
}

function acceptsJson(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').toLowerCase().includes('application/json');
}
