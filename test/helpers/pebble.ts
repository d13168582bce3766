// Let's Encrypt's ACME test server (Debian's `pebble`), with `pebble-challtestsrv` as its DNS server
// (it answers every name with 127.0.0.1), on free loopback ports. Its HTTPS certificate comes from a
// test CA (certs.ts), which veer is given as `acme.caBundle`. Started and stopped by pid; `restart`
// brings back a fresh pebble (new CA, no accounts) on the same ports, as after an outage.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { testCa, type TestCa } from './certs.js';
import { freePort, hasExited, spawnTracked, stopChild, waitFor, withTimeout } from './process.js';

export interface PebbleOptions {
  /** Where pebble sends HTTP-01 validations (veer's plain data-plane port). */
  httpPort: number;
  /** Where pebble sends TLS-ALPN-01 validations; default a free port nobody listens on. */
  tlsPort?: number;
  /** Lifetime of the certificates it issues; default pebble's own (5 years). */
  validitySeconds?: number;
}

export interface PebbleHandle {
  /** https://localhost:<port>/dir */
  readonly directory: string;
  /** The test CA that signed pebble's HTTPS certificate (veer's `acme.caBundle`). */
  readonly caFile: string;
  /** The root pebble issues under now (its management API's /roots/0; a restart makes a new one). */
  root(): Promise<string>;
  /** Certificates pebble issued since it (re)started, from its log. */
  issued(): number;
  stop(): Promise<void>;
  /** Starts pebble again on the same ports (after stop). */
  start(): Promise<void>;
  /** Stops both processes and removes the temp files. */
  close(): Promise<void>;
}

function httpsGet(url: string, ca: string): Promise<{ status: number; text: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = request(url, { ca }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end();
    }),
    5_000,
    `GET ${url}`,
  );
}

async function startDns(): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const management = await freePort();
  const args = ['-dns01', `127.0.0.1:${port}`, '-http01', '', '-https01', '', '-tlsalpn01', ''];
  // No AAAA answers: pebble would try ::1 first, where veer does not listen.
  args.push('-management', `127.0.0.1:${management}`, '-defaultIPv6', '');
  const child = spawnTracked('pebble-challtestsrv', args);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('Starting challenge servers'), { timeoutMs: 10_000, what: 'challtestsrv' });
  return { child, port };
}

export async function startPebble(opts: PebbleOptions): Promise<PebbleHandle> {
  const ca: TestCa = testCa();
  const leaf = ca.issue(['localhost']);
  const [listen, management, tlsPort] = [await freePort(), await freePort(), opts.tlsPort ?? (await freePort())];
  const dns = await startDns();
  const config = join(ca.dir, 'pebble.json');
  const pebble: Record<string, unknown> = {
    listenAddress: `127.0.0.1:${listen}`,
    managementListenAddress: `127.0.0.1:${management}`,
    certificate: leaf.cert,
    privateKey: leaf.key,
    httpPort: opts.httpPort,
    tlsPort,
    ocspResponderURL: '',
    externalAccountBindingRequired: false,
    ...(opts.validitySeconds === undefined ? {} : { certificateValidityPeriod: opts.validitySeconds }),
  };
  writeFileSync(config, JSON.stringify({ pebble }));
  let child: ChildProcess | null = null;
  let log = '';
  const start = async (): Promise<void> => {
    log = '';
    // No random waits before validating, no refused nonces: the tests wait for events, not luck.
    const env = { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' };
    const c = spawnTracked('pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dns.port}`], { env });
    child = c;
    const keep = (d: Buffer): void => void (log += d.toString());
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    await waitFor(
      () => {
        if (hasExited(c)) throw new Error(`pebble exited: ${log.slice(-1_000)}`);
        return log.includes('ACME directory available');
      },
      { timeoutMs: 15_000, what: 'pebble to listen' },
    );
  };
  const stop = async (): Promise<void> => {
    if (child !== null) await stopChild(child, 3_000);
    child = null;
  };
  await start();
  return {
    directory: `https://localhost:${listen}/dir`,
    caFile: ca.caFile,
    root: async () => (await httpsGet(`https://localhost:${management}/roots/0`, ca.caPem)).text,
    issued: () => log.split('\n').filter((l) => /Issued certificate serial/i.test(l)).length,
    stop,
    start,
    close: async () => {
      await stop();
      await stopChild(dns.child, 3_000);
      ca.remove();
    },
  };
}
