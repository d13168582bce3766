// `--wait` of `veer rollout`, `undo` and `retry`: follow one rollout to its outcome so CI gets an exit
// code (0 succeeded, 1 rolled back, aborted or timed out), printing a progress line on each change.
// Woken by the service's event stream, with a status read now and then as a fallback.
import type { ServiceStatus } from '../api/ports.js';
import type { Phase } from '../domain/rollout.js';
import { formatDuration, parseDuration } from '../domain/duration.js';
import { assertNever } from '../domain/errors.js';
import { historyAnswer, serviceAnswer } from './answers.js';
import type { OptionValues } from './args.js';
import { AdminClient, DEFAULT_TIMEOUT_MS, failureLines, type EventStream } from './client.js';
import { isFinal } from './transport-failure.js';
import { EXIT, type CliIO, type ExitCode } from './command.js';
import { progressLine } from './status-table.js';
import { Wakeup } from './wakeup.js';

const POLL_MS = 1_000;
/** With a live stream, still look now and then: metrics move without events. */
const STREAM_POLL_MS = 5_000;
/** Bursts of events are coalesced into one status read per this interval. */
const MIN_GAP_MS = 100;
/**
 * The stream opens after the rollout started, and its first analysis (with any low-traffic warning)
 * may come first on a busy machine: recent events are replayed, and only this rollout's are read.
 */
const REPLAY_EVENTS = 50;
/** A rollout replaced since the last read is among the service's newest ones (the API's default page). */
const HISTORY_LIMIT = 20;

export const DEFAULT_WAIT_TIMEOUT = '1h';

/**
 * --timeout in ms, or the usage problem. It only bounds --wait: alone it would be accepted and do nothing
 * (a CI step that meant to wait would not), as `status` refuses it without --watch.
 */
export function waitTimeoutMs(values: OptionValues): number | string {
  if (values.timeout !== undefined && values.wait !== true)
    return '--timeout goes with --wait (it bounds how long --wait follows the rollout); add --wait or drop --timeout';
  const t = parseDuration(values.timeout ?? DEFAULT_WAIT_TIMEOUT);
  return t.ok && t.ms > 0 ? t.ms : `--timeout: expected a positive duration like "10m", got "${values.timeout}"`;
}

/** How long `--wait` may take in all: from the command's start, so the request that starts it counts too. */
export interface WaitLimit {
  timeoutMs: number;
  deadline: number;
}

export const waitLimit = (timeoutMs: number): WaitLimit => ({ timeoutMs, deadline: Date.now() + timeoutMs });

/** With --wait, no single call may outlast --timeout (`--timeout 1s` against a hung admin took 10 s). */
export function callTimeout(wait: boolean, limit: WaitLimit): number {
  return wait ? Math.max(1, Math.min(DEFAULT_TIMEOUT_MS, limit.timeoutMs)) : DEFAULT_TIMEOUT_MS;
}

export async function follow(
  client: AdminClient,
  service: string,
  id: string,
  limit: WaitLimit,
  io: CliIO,
): Promise<ExitCode> {
  const { timeoutMs, deadline } = limit;
  const wake = new Wakeup();
  const path = `/v1/services/${encodeURIComponent(service)}`;
  // The stream's head may take as long as the deadline leaves, no longer: --timeout bounds the whole wait.
  const stream = await openStream(client, { service, id, limitMs: deadline - Date.now() }, wake, io);
  const said: Said = { line: '', down: null, paused: false };
  try {
    // Bounded in time by the deadline and in count by the minimum gap between status reads.
    for (let i = 0, max = Math.ceil(timeoutMs / MIN_GAP_MS) + 2; i < max; i++) {
      const started = Date.now();
      // Past the deadline (a slow start, a slow stream): a read with no time left could only time out.
      if (started >= deadline) break;
      const r = await client.get(path, serviceAnswer, deadline - started);
      if (r.ok) {
        const s = r.value;
        show(s, id, said, io);
        const outcome = outcomeOf(s, id, io);
        if (outcome === 'replaced') return await fromHistory(client, s, id, deadline, io);
        if (outcome !== null) return outcome;
      } else if (isFinal(r.error)) {
        // The service was removed by a reload, the token rotated: waiting until --timeout cannot change that.
        failureLines(r.error).forEach((l) => io.err(l));
        return EXIT.failure;
      } else {
        if (r.error.message !== said.down) failureLines(r.error).forEach((l) => io.err(l));
        said.down = r.error.message;
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await wake.wait(Math.min(left, stream.live ? STREAM_POLL_MS : POLL_MS));
      const gap = MIN_GAP_MS - (Date.now() - started);
      if (gap > 0) await new Promise((res) => setTimeout(res, Math.min(gap, Math.max(0, deadline - Date.now()))));
    }
    io.err(
      `error: rollout ${id} of ${service} did not finish within ${formatDuration(timeoutMs)} (--timeout); ` +
        'it keeps running',
    );
    return EXIT.failure;
  } finally {
    stream.close();
  }
}

/** What was said last, so that each change is said once. */
interface Said {
  /** The progress line. */
  line: string;
  /** An admin that went away is said once, not on every poll; its return is one line too. */
  down: string | null;
  paused: boolean;
}

function show(s: ServiceStatus, id: string, said: Said, io: CliIO): void {
  if (said.down !== null) io.err(`note: veer admin answers again`);
  said.down = null;
  const line = progressLine(s);
  if (line !== said.line) io.out(line);
  said.line = line;
  const r = s.rollout;
  const paused = r !== null && r.id === id && r.phase === 'paused';
  // A paused rollout waits for a person: without a word, --wait would sit until --timeout and exit 1.
  if (paused && !said.paused)
    io.err(
      `rollout ${id} paused: ${r.reason ?? 'no reason given'}; veer resume|promote ${s.name} continues it, ` +
        '--wait keeps waiting until --timeout',
    );
  said.paused = paused;
}

interface Follow {
  live: boolean;
  close(): void;
}

/** The service's events wake the loop; without a stream it falls back to polling every second. */
async function openStream(
  client: AdminClient,
  { service, id, limitMs }: { service: string; id: string; limitMs: number },
  wake: Wakeup,
  io: CliIO,
): Promise<Follow> {
  const state: Follow & { stream: EventStream | null } = {
    live: false,
    stream: null,
    close: () => state.stream?.close(),
  };
  let lastGate = '';
  const r = await client.stream(
    `/v1/events?service=${encodeURIComponent(service)}&replay=${REPLAY_EVENTS}`,
    (m) => {
      if (!concerns(m.data, id)) return;
      const notice = noticeOf(m.data);
      if (notice?.kind === 'warning') io.err(`warning: ${notice.message}`);
      // A gate refusing again and again says so once, until it says something else.
      if (notice?.kind === 'gate' && notice.message !== lastGate) io.out(notice.message);
      if (notice?.kind === 'gate') lastGate = notice.message;
      wake.fire();
    },
    limitMs,
  );
  if (!r.ok) {
    io.err(`note: event stream unavailable (${r.error.message}); polling every ${POLL_MS / 1000}s`);
    return state;
  }
  state.stream = r.value;
  state.live = true;
  void r.value.ended.then(() => {
    state.live = false;
    wake.fire();
  });
  return state;
}

/** A `warning` event (e.g. too little traffic for the steps) or a `gate` one (asked, refused, passed), else null. */
function noticeOf(data: string): { kind: 'warning' | 'gate'; message: string } | null {
  try {
    const e = JSON.parse(data) as { kind?: unknown; message?: unknown };
    if (typeof e.message !== 'string') return null;
    return e.kind === 'warning' || e.kind === 'gate' ? { kind: e.kind, message: e.message } : null;
  } catch {
    return null;
  }
}

/** Events of this rollout, and service-wide ones (a manual shift) that change what we print. */
function concerns(data: string, id: string): boolean {
  try {
    const e = JSON.parse(data) as { rolloutId?: unknown };
    return e.rolloutId === id || e.rolloutId === null;
  } catch {
    return false;
  }
}

/** The rollout's end, said; null while it runs; 'replaced' when another rollout is the service's current one. */
function outcomeOf(s: ServiceStatus, id: string, io: CliIO): ExitCode | 'replaced' | null {
  const r = s.rollout;
  return !r || r.id !== id ? 'replaced' : ended(id, r.phase, r.reason, io);
}

function ended(id: string, phase: Phase, reason: string | null, io: CliIO): ExitCode | null {
  switch (phase) {
    case 'succeeded':
      io.out(`rollout ${id} succeeded`);
      return EXIT.ok;
    case 'rolled-back':
    case 'aborted':
      io.err(`rollout ${id} ${phase}: ${reason ?? 'no reason given'}`);
      return EXIT.failure;
    case 'starting':
    case 'progressing':
    case 'paused':
    case 'promoting':
    case 'rolling-back':
      return null;
    default:
      return assertNever(phase, 'rollout phase');
  }
}

/**
 * Another rollout is current: the next pipeline may have started one right after ours ended, before our
 * next read. Ours is then in the service's history, with its real outcome; only a rollout not found
 * there is a failure. The history read gets at least a second: the answer is one read away.
 */
async function fromHistory(client: AdminClient, s: ServiceStatus, id: string, deadline: number, io: CliIO) {
  const path = `/v1/services/${encodeURIComponent(s.name)}/rollouts?limit=${HISTORY_LIMIT}`;
  const h = await client.get(path, historyAnswer, Math.max(1_000, deadline - Date.now()));
  const entry = h.ok ? h.value.rollouts.find((e) => e.id === id) : undefined;
  const code = entry === undefined ? null : ended(id, entry.phase, entry.reason, io);
  if (code !== null) return code;
  const r = s.rollout;
  const why = h.ok ? '' : `; its history could not be read: ${h.error.message}`;
  io.err(`error: rollout ${id} is no longer ${s.name}'s current rollout${r ? ` (now ${r.id}, ${r.phase})` : ''}${why}`);
  return EXIT.failure;
}
