// The SSH agent's session can be gone before ssh2 says so: exec() on it throws "Not connected" rather
// than calling back. That used to escape as an unhandled rejection (which ends a Node process; a CI run
// caught it when sshd went away mid-test); now the agent drops that session and opens a new one.
// Against a real sshd whose sessions run `docker system dial-stdio` (test/helpers/sshd.ts).
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type ssh2 from 'ssh2';
import { afterEach, expect, it } from 'vitest';
import { SshDockerAgent } from '../../../src/docker/ssh-agent.js';
import { withTimeout } from '../../helpers/process.js';
import { sshSuite, startSshd, type SshdHandle } from '../../helpers/sshd.js';

const suite = await sshSuite('docker/ssh-agent.test');
const open: Array<{ close(): Promise<void> } | SshDockerAgent> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) {
    if (x instanceof SshDockerAgent) x.destroy();
    else await x.close();
  }
});

function agentFor(s: SshdHandle): SshDockerAgent {
  const agent = new SshDockerAgent({
    name: 'remote',
    host: '127.0.0.1',
    port: s.port,
    username: 'root',
    privateKey: readFileSync(s.clientKey),
    verify: () => ({ ok: true }),
  });
  open.push(agent);
  return agent;
}

function channel(agent: SshDockerAgent): Promise<Duplex> {
  const got = new Promise<Duplex>((resolve, reject) =>
    agent.createConnection({}, (err, stream) => (err ? reject(err) : resolve(stream as Duplex))),
  );
  return withTimeout(got, 20_000, 'a channel to the Docker engine');
}

/** GET /_ping over a channel: the engine answers through `docker system dial-stdio`. */
async function ping(c: Duplex): Promise<string> {
  const answer = new Promise<string>((resolve, reject) => {
    let text = '';
    c.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\r\n\r\n') && text.endsWith('OK')) resolve(text);
    });
    c.on('error', reject);
  });
  c.write('GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n');
  const text = await withTimeout(answer, 10_000, 'the engine to answer /_ping');
  c.destroy();
  return text;
}

suite('the SSH agent', () => {
  it('a session whose socket is gone before ssh2 noticed: a new login serves the next channel', async () => {
    const s = await startSshd();
    open.push(s);
    const agent = agentFor(s);
    expect(await ping(await channel(agent))).toMatch(/^HTTP\/1\.1 200/);
    expect(agent.logins).toBe(1);
    // The race, made certain: the session's socket ends now, the channel is asked for before ssh2's 'close'.
    (agent as unknown as { session: ssh2.Client }).session.end();
    const next = channel(agent);
    expect(await ping(await next)).toMatch(/^HTTP\/1\.1 200/);
    expect(agent.logins).toBe(2);
  });
});
