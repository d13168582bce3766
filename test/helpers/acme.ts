// veer with `tls.acme` against a pebble (pebble.ts): its plain listener on the port pebble validates
// HTTP-01 on, and what a real TLS client sees of the certificate it serves.
import { connect, type PeerCertificate } from 'node:tls';
import { parseConfigObject } from '../../src/config/load.js';
import { silentLogger } from '../../src/domain/log.js';
import { startVeer, type RunningVeer } from '../../src/main.js';
import { startPebble, type PebbleHandle } from './pebble.js';
import { freePort } from './process.js';
import { http, waitFor, type Harness } from './veer.js';

export interface AcmeVeerOptions {
  /** The plain data-plane port (pebble's httpPort for the replica that should answer). */
  port: number;
  pebble: Pick<PebbleHandle, 'directory' | 'caFile'>;
  host: string;
  /** "host:port" of the upstream serving `host`. */
  upstream: string;
  state?: Record<string, unknown>;
  acme?: Record<string, unknown>;
  /** The HTTPS port (pebble's tlsPort for tls-alpn-01); default any. */
  tlsPort?: number;
  /** `tls.certificates` beside ACME. */
  certificates?: Array<{ cert: string; key: string }>;
}

export async function startAcmeVeer(o: AcmeVeerOptions): Promise<RunningVeer> {
  const r = parseConfigObject(
    {
      listen: `127.0.0.1:${o.port}`,
      admin: { listen: '127.0.0.1:0' },
      accessLog: { enabled: false },
      state: o.state ?? { store: 'memory' },
      services: [{ name: 'app', match: { hosts: [o.host] }, stable: { targets: [o.upstream] } }],
      tls: {
        listen: `127.0.0.1:${o.tlsPort ?? 0}`,
        certificates: o.certificates ?? [],
        acme: {
          directory: o.pebble.directory,
          email: 'ops@example.com',
          caBundle: o.pebble.caFile,
          ...{ retryMin: '1s', retryMax: '2s', timeout: '10s' },
          ...o.acme,
        },
      },
    },
    {},
  );
  if (!r.ok) throw r.error;
  return startVeer(r.value, { log: silentLogger });
}

export interface Served {
  subject: string;
  issuer: string;
  serial: string;
  names: string;
  validFrom: number;
  validTo: number;
}

/** The certificate served for `name` on 127.0.0.1:port; rejects unless its chain verifies against `ca`. */
export function served(port: number, name: string, ca: string): Promise<Served> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: name, ca, rejectUnauthorized: true }, () => {
      const c: PeerCertificate = socket.getPeerCertificate();
      socket.destroy();
      resolve({
        subject: String(c.subject?.CN ?? ''),
        issuer: String(c.issuer?.CN ?? ''),
        serial: c.serialNumber,
        names: c.subjectaltname ?? '',
        validFrom: Date.parse(c.valid_from),
        validTo: Date.parse(c.valid_to),
      });
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

/** Waits (bounded) until `name` is served on the port with a chain verifying against `ca`. */
export function awaitServed(port: number, name: string, ca: string, what: string): Promise<Served> {
  return waitFor(() => served(port, name, ca), { timeoutMs: 30_000, intervalMs: 200, what });
}

/** The value of one sample of veer's /metrics (e.g. `veer_acme_renewals_total{outcome="success"}`), 0 if absent. */
export async function metric(v: RunningVeer, sample: string): Promise<number> {
  const text = (await http(`http://127.0.0.1:${v.admin.port}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

/** The `acme` events veer recorded, oldest first. */
export async function acmeEvents(v: RunningVeer): Promise<Array<{ message: string; data: Record<string, unknown> }>> {
  const r = await http(`http://127.0.0.1:${v.admin.port}/v1/events?limit=200`, {
    headers: { accept: 'application/json' },
  });
  const page = JSON.parse(r.text) as {
    events: Array<{ kind: string; message: string; data: Record<string, unknown> }>;
  };
  return page.events.filter((e) => e.kind === 'acme');
}

/**
 * A pebble validating HTTP-01 on a veer's plain port, that veer (host app.test, one upstream) and the first
 * certificate it serves; all closed when the test ends. `validitySeconds`: pebble's certificate lifetime.
 */
export async function issuedVeer(h: Harness, what: string, validitySeconds?: number) {
  const port = await freePort();
  const pebble = await startPebble({ httpPort: port, ...(validitySeconds === undefined ? {} : { validitySeconds }) });
  h.defer(() => pebble.close());
  const up = await h.upstream('app');
  const veer = await startAcmeVeer({ port, pebble, host: 'app.test', upstream: `127.0.0.1:${up.port}` });
  h.defer(() => veer.close());
  const tlsPort = veer.tls?.port ?? 0;
  const root = await pebble.root();
  const first = await awaitServed(tlsPort, 'app.test', root, what);
  return { pebble, veer, tlsPort, root, first };
}
