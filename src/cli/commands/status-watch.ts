// `veer status --watch [service] [--interval 2s]`: the numbers of `veer status`, refreshed every
// interval and at once on each event of the stream. An admin API that stops answering shows
// "reconnecting…" over the last numbers and is asked again with backoff; Ctrl+C or SIGTERM ends the
// view with exit 0 and the terminal as it was. Bounded by --timeout (default 24h) like every wait.
import type { ServiceStatus } from '../../api/ports.js';
import { pause, settledWithin } from '../../domain/async.js';
import { formatDuration, parseDuration } from '../../domain/duration.js';
import { ok, type Result } from '../../domain/errors.js';
import { serviceAnswer, servicesAnswer } from '../answers.js';
import type { OptionValues } from '../args.js';
import { isFinal } from '../transport-failure.js';
import { failureLines, type AdminClient, type ClientFailure } from '../client.js';
import { EXIT, type CliIO, type ExitCode } from '../command.js';
import { tailEvents } from '../event-tail.js';
import { plainSink, screenSink, type StatusSink } from '../status-sink.js';
import { Wakeup } from '../wakeup.js';
import { EVENT_LINES, watchFrame, type WatchView } from '../watch-frame.js';

export const DEFAULT_INTERVAL = '2s';
export const DEFAULT_WATCH_TIMEOUT = '24h';
const MIN_INTERVAL_MS = 250;
/** A burst of events is one read: reads are at least this far apart. */
const MIN_GAP_MS = 200;
const MAX_BACKOFF_MS = 10_000;

export interface WatchOptions {
  service: string | null;
  intervalMs: number;
  timeoutMs: number;
}

/** --interval and --timeout, or the usage problem. */
export function watchOptions(values: OptionValues, service: string | null): WatchOptions | string {
  const interval = parseDuration(values.interval ?? DEFAULT_INTERVAL);
  if (!interval.ok || interval.ms < MIN_INTERVAL_MS)
    return `--interval: expected a duration of at least ${MIN_INTERVAL_MS}ms like "2s", got "${values.interval}"`;
  const timeout = parseDuration(values.timeout ?? DEFAULT_WATCH_TIMEOUT);
  if (!timeout.ok || timeout.ms <= 0)
    return `--timeout: expected a positive duration like "10m", got "${values.timeout}"`;
  return { service, intervalMs: interval.ms, timeoutMs: timeout.ms };
}

export async function watchStatus(client: AdminClient, o: WatchOptions, io: CliIO): Promise<ExitCode> {
  const stop = new AbortController();
  const wake = new Wakeup();
  const halt = (): void => {
    stop.abort();
    wake.fire();
  };
  const view: WatchView = { ...o, services: null, events: [], problem: null, live: false, at: null };
  const term = io.terminal;
  const sink: StatusSink = term?.isTTY ? screenSink(term) : plainSink((l) => (term ? term.write(`${l}\n`) : io.out(l)));
  const offStop = term?.onInterrupt(halt) ?? (() => undefined);
  const offResize = term?.onResize(() => (sink.reset(), wake.fire())) ?? (() => undefined);
  const tail = tailEvents(client, {
    service: o.service,
    replay: EVENT_LINES,
    signal: stop.signal,
    onEvent(e) {
      if (o.service !== null) view.events = [...view.events, e].slice(-EVENT_LINES);
      wake.fire();
    },
    onLink(live) {
      view.live = live;
      wake.fire();
    },
  });
  try {
    return await refreshLoop(client, o, view, sink, { wake, signal: stop.signal }, io);
  } finally {
    halt();
    sink.close();
    offStop();
    offResize();
    await settledWithin(tail, 1_000);
  }
}

interface Waiting {
  wake: Wakeup;
  signal: AbortSignal;
}

async function refreshLoop(
  client: AdminClient,
  o: WatchOptions,
  view: WatchView,
  sink: StatusSink,
  w: Waiting,
  io: CliIO,
): Promise<ExitCode> {
  const path = o.service === null ? '/v1/services' : `/v1/services/${encodeURIComponent(o.service)}`;
  const deadline = Date.now() + o.timeoutMs;
  let failures = 0;
  // Bounded in time by the deadline, and in count by the least gap between reads.
  for (let i = 0, max = Math.ceil(o.timeoutMs / MIN_GAP_MS) + 2; i < max && !w.signal.aborted; i++) {
    const started = Date.now();
    const left = deadline - started;
    const r = o.service === null ? await client.get(path, servicesAnswer, left) : await one(client, path, left);
    if (w.signal.aborted) break;
    if (r.ok) {
      view.services = r.value;
      view.at = Date.now();
      view.problem = null;
      failures = 0;
    } else if (isFinal(r.error)) {
      sink.close();
      failureLines(r.error).forEach((l) => io.err(l));
      return EXIT.failure;
    } else {
      // A read that ran out with --timeout itself (its bound was what was left) tells nothing new of the admin:
      // an earlier read's reason ("cannot reach") stays the one reported.
      const cutByDeadline = r.error.code === 'timeout' && Date.now() >= deadline && view.problem !== null;
      if (!cutByDeadline) view.problem = r.error.message;
      failures += 1;
    }
    sink.show(watchFrame(view));
    const rest = deadline - Date.now();
    if (rest <= 0) break;
    const wait = failures === 0 ? o.intervalMs : Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures - 1, 5));
    await w.wake.wait(Math.min(rest, wait));
    const gap = MIN_GAP_MS - (Date.now() - started);
    if (gap > 0) await pause(gap, w.signal);
  }
  return w.signal.aborted || view.services !== null ? EXIT.ok : neverAnswered(o, view, sink, io);
}

async function one(
  client: AdminClient,
  path: string,
  limitMs: number,
): Promise<Result<ServiceStatus[], ClientFailure>> {
  const r = await client.get(path, serviceAnswer, limitMs);
  return r.ok ? ok([r.value]) : r;
}

/** Timed out without one status: a script running `--watch --timeout` must not read that as success. */
function neverAnswered(o: WatchOptions, view: WatchView, sink: StatusSink, io: CliIO): ExitCode {
  sink.close();
  const why = view.problem === null ? '' : `: ${view.problem}`;
  io.err(`error: no status within ${formatDuration(o.timeoutMs)} (--timeout)${why}`);
  return EXIT.failure;
}
