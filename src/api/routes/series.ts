// The dashboard's figures: a service's per-second series (the charts), and every service's state and
// last seconds as JSON or as a live stream with one frame per recorded second (the overview).
import type { FastifyInstance } from 'fastify';
import { UnavailableError } from '../../domain/errors.js';
import { SERIES_SECONDS, type PoolColumns } from '../../metrics/series.js';
import { buildFrame } from '../dashboard-frame.js';
import { sendError } from '../errors.js';
import type { AdminDeps, SeriesView } from '../ports.js';
import { unknownService } from '../service-name.js';
import { answerStreamHead, openStream, type OpenStream } from '../sse.js';
import { intParam, type Query } from './events.js';

const NO_SERIES = new UnavailableError('the dashboard series are not available on this server');

const noColumns = (): PoolColumns => ({ requests: [], errors: [], p50Ms: [], p99Ms: [] });

export interface SeriesRouteOptions {
  keepaliveMs?: number;
}

export function seriesRoutes(app: FastifyInstance, deps: AdminDeps, opts: SeriesRouteOptions = {}): void {
  app.get<{ Params: { name: string }; Querystring: Query }>('/v1/services/:name/series', async (request, reply) => {
    const series = deps.series;
    if (!series) return sendError(reply, NO_SERIES);
    const { name } = request.params;
    if (!deps.services.get(name)) return sendError(reply, unknownService(name));
    const seconds = intParam(request.query, 'seconds', SERIES_SECONDS, 1, SERIES_SECONDS);
    if (!seconds.ok) return sendError(reply, seconds.error);
    // A service with no ring yet (just started, or added by a reload) has the same shape, with no seconds.
    const columns = series.columns(name, seconds.value) ?? { t: [], stable: noColumns(), canary: noColumns() };
    return { service: name, source: series.source, settleMs: series.settleMs, ...columns };
  });

  const streams = new Set<OpenStream>();
  app.addHook('preClose', async () => {
    for (const s of [...streams]) s.end();
  });
  const frames = liveFrames(deps, streams);

  app.get('/v1/series', async (request, reply) => {
    const series = deps.series;
    if (!series) return sendError(reply, NO_SERIES);
    if (!(request.headers.accept ?? '').toLowerCase().includes('text/event-stream'))
      return buildFrame(deps.services.list(), series);
    if (request.method === 'HEAD') return answerStreamHead(reply);
    const s = openStream(reply, opts.keepaliveMs, frameEvent(JSON.stringify(buildFrame(deps.services.list(), series))));
    streams.add(s);
    frames.subscribed(series);
    s.onEnd(() => {
      streams.delete(s);
      frames.unsubscribed();
    });
    return reply;
  });
}

const frameEvent = (json: string): string => `event: figures\ndata: ${json}\n\n`;

/** One frame per recorded second, built once for every open stream, and only while one is open. */
function liveFrames(deps: AdminDeps, streams: Set<OpenStream>) {
  let off: (() => void) | null = null;
  return {
    subscribed(series: SeriesView): void {
      off ??= series.onSecond(() => {
        const text = frameEvent(JSON.stringify(buildFrame(deps.services.list(), series)));
        for (const s of streams) s.write(text);
      });
    },
    unsubscribed(): void {
      if (streams.size > 0 || off === null) return;
      off();
      off = null;
    },
  };
}
