// `veer status --watch`'s event tail across a restart of the admin API: the new process's event log counts
// its seq from 1 again, so the tail must resume by the stream's id (which names the log), not by a seq.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { AdminClient } from '../../src/cli/client.js';
import { tailEvents } from '../../src/cli/event-tail.js';
import { silentLogger } from '../../src/domain/log.js';
import type { RolloutEvent } from '../../src/domain/rollout.js';
import { EventLog } from '../../src/rollout/events.js';
import { waitFor, withTimeout } from '../helpers/process.js';
import { FakeDirectory, fakeDeps, fakeService } from '../unit/api/fake-directory.js';

const TOKEN = 'tail-token';
const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => withTimeout(a.close(), 5_000, 'app close')));
});

async function serve(messages: string[], port = 0) {
  const events = new EventLog({ clock: { now: () => Date.parse('2024-01-01T00:00:00Z') } });
  for (const message of messages)
    events.append({ service: 'web', rolloutId: 'r-1', kind: 'step', phase: 'progressing', weight: 10, message });
  const app = buildApp(fakeDeps(new FakeDirectory([fakeService('web')]), { events, token: TOKEN }), {
    logger: silentLogger,
  });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port });
  return { app, port: (app.server.address() as AddressInfo).port };
}

describe('event tail resume', () => {
  it('shows every event of a restarted server, though its seqs start again below the last one seen', async () => {
    const first = await serve(['a1', 'a2', 'a3']);
    const client = new AdminClient({ url: `http://127.0.0.1:${first.port}`, token: TOKEN });
    const seen: RolloutEvent[] = [];
    const links: boolean[] = [];
    const stop = new AbortController();
    const tail = tailEvents(client, {
      service: null,
      replay: 10,
      onEvent: (e) => seen.push(e),
      onLink: (live) => links.push(live),
      signal: stop.signal,
    });
    try {
      await waitFor(() => seen.length === 3, { timeoutMs: 5_000, what: 'the first replay' });
      await withTimeout(first.app.close(), 5_000, 'first app close');
      await waitFor(() => links.includes(false), { timeoutMs: 5_000, what: 'the lost stream' });
      // The restarted server has more events than the client saw: a seq filter (> 3) would hide b1..b3.
      await serve(['b1', 'b2', 'b3', 'b4', 'b5'], first.port);
      await waitFor(() => seen.length === 8, { timeoutMs: 10_000, what: 'the new server replayed' });
      expect(seen.map((e) => e.message)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'b4', 'b5']);
    } finally {
      stop.abort();
      await withTimeout(tail, 5_000, 'tail end');
      await client.close();
    }
  });
});
