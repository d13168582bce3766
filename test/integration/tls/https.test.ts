// HTTPS termination with a real veer, real upstreams and certificates from a test CA (openssl): SNI
// picks among certificates (exact before wildcard), unknown names fail the handshake or get the
// default certificate, TLS below 1.2 is refused, HTTPS requests are routed, split and forwarded as
// over plain HTTP (X-Forwarded-Proto https, Secure sticky cookie, HSTS), plain HTTP redirects to
// https except ACME challenges, and a certificate replaced on disk is served without a restart.
import { connect as tlsConnect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { testCa } from '../../helpers/certs.js';
import { https1 } from '../../helpers/tls-client.js';
import { http, service, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const ca = testCa();
afterAll(() => ca.remove());
const exact = ca.issue(['a.test']);
const wild = ca.issue(['*.a.test', 'b.test']);

async function veerWith(tls: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const up = await h.upstream('stable');
  const logged: string[] = [];
  const log = { log: (_level: string, msg: string) => void logged.push(msg) };
  const v = await h.veer({ services: [service('web', [up.address], [], extra)], tls, log });
  return { up, v, port: v.tlsPort as number, logged };
}

function handshake(port: number, opts: { name?: string; maxVersion?: 'TLSv1.1' }): Promise<string> {
  return new Promise((resolve) => {
    // The served certificate's names are the assertion itself: the client's own name check is off.
    const s = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: ca.caPem,
      checkServerIdentity: () => undefined,
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      ...(opts.name ? { servername: opts.name } : {}),
    });
    s.setTimeout(5_000, () => s.destroy(new Error('timeout')));
    s.on('secureConnect', () => {
      resolve(`ok ${s.getPeerCertificate().subjectaltname}`);
      s.destroy();
    });
    s.on('error', (e) => resolve(`failed: ${e.message}`));
  });
}

/** What a TLS 1.2 client's request for a new handshake on an established connection comes to. */
function renegotiation(port: number, name: string): Promise<string> {
  return new Promise((resolve) => {
    const s = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: name,
      ca: ca.caPem,
      maxVersion: 'TLSv1.2',
      checkServerIdentity: () => undefined,
    });
    h.defer(() => s.destroy());
    // Every path ends in an event (the test's own timeout bounds the rest).
    const done = (outcome: string): void => resolve(outcome);
    s.on('error', () => undefined);
    s.once('close', () => done('refused'));
    // A refused renegotiation may end in silence (a warning alert the client ignores): a request sent after
    // it gets its answer on the first handshake's keys. An allowed one completes before that answer comes.
    s.once('data', () => done('refused'));
    s.once('secureConnect', () => {
      const asked = s.renegotiate({ rejectUnauthorized: false }, (e) => done(e ? 'refused' : 'renegotiated'));
      if (!asked) done('refused');
      s.write(`GET / HTTP/1.1\r\nHost: ${name}\r\nConnection: close\r\n\r\n`);
    });
  });
}

describe('TLS termination', () => {
  it('chooses the certificate by SNI (exact before wildcard) and forwards with X-Forwarded-Proto https', async () => {
    const { up, port } = await veerWith({ certificates: [wild, exact], hsts: 'max-age=600' });
    const a = await https1({ port, name: 'a.test', ca: ca.caPem, path: '/x?y=1' });
    expect([a.status, a.text, a.served]).toEqual([200, 'stable', 'DNS:a.test']);
    expect(a.headers['strict-transport-security']).toBe('max-age=600');
    const sub = await https1({ port, name: 'api.a.test', ca: ca.caPem });
    expect(sub.served).toBe('DNS:*.a.test, DNS:b.test');
    const req = up.requests.find((r) => r.url === '/x?y=1');
    expect(req?.headers['x-forwarded-proto']).toBe('https');
    expect(req?.headers.host).toBe(`a.test:${port}`);
    // One label only: a wildcard does not cover deeper names, and there is no default certificate.
    expect(await handshake(port, { name: 'x.api.a.test' })).toMatch(/^failed/);
    expect(await handshake(port, {})).toMatch(/^failed/);
  });

  it('serves the default certificate to unknown names and to clients without SNI', async () => {
    const fallback = ca.issue(['fallback.test']);
    const { port } = await veerWith({ certificates: [exact], defaultCertificate: fallback });
    expect(await handshake(port, { name: 'other.test' })).toBe('ok DNS:fallback.test');
    expect(await handshake(port, {})).toBe('ok DNS:fallback.test');
    expect(await handshake(port, { name: 'a.test' })).toBe('ok DNS:a.test');
  });

  it('refuses TLS below 1.2', async () => {
    const { port } = await veerWith({ certificates: [exact] });
    expect(await handshake(port, { name: 'a.test', maxVersion: 'TLSv1.1' })).toMatch(/^failed/);
    expect(await handshake(port, { name: 'a.test' })).toBe('ok DNS:a.test');
  });

  it('refuses a TLS 1.2 client asking to renegotiate, for a named and for the default certificate', async () => {
    const fallback = ca.issue(['fallback.test']);
    const { port } = await veerWith({ certificates: [exact], defaultCertificate: fallback });
    for (const name of ['a.test', 'other.test']) expect(await renegotiation(port, name), name).toBe('refused');
  });

  it('mints a Secure sticky cookie over TLS, and none marked Secure over plain HTTP', async () => {
    const sticky = { sticky: { cookie: 'veer-web' } };
    const { v, port } = await veerWith({ certificates: [exact], redirect: false }, sticky);
    const tls = await https1({ port, name: 'a.test', ca: ca.caPem });
    expect(String(tls.headers['set-cookie'])).toMatch(/^veer-web=\d+;.*; Secure$/);
    const plain = await http(`${v.url}/`, { headers: { host: 'a.test' } });
    expect(String(plain.headers['set-cookie'])).not.toContain('Secure');
    expect(plain.headers['strict-transport-security']).toBeUndefined();
  });

  it('redirects plain HTTP for certificate hosts (308, same path, query), not ACME paths or other hosts', async () => {
    const { up, v, port } = await veerWith({ certificates: [exact, wild] });
    const r = await http(`${v.url}/a/b?c=d&e`, { method: 'POST', headers: { host: 'a.test' }, body: 'x' });
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://a.test:${port}/a/b?c=d&e`);
    const wildcard = await http(`${v.url}/`, { headers: { host: 'www.a.test:8080' } });
    expect(wildcard.headers.location).toBe(`https://www.a.test:${port}/`);
    const acme = await http(`${v.url}/.well-known/acme-challenge/tok`, { headers: { host: 'a.test' } });
    expect(acme.status).toBe(200);
    expect(up.requests.map((q) => q.url)).toEqual(['/.well-known/acme-challenge/tok']);
    const other = await http(`${v.url}/`, { headers: { host: 'other.test' } });
    expect([other.status, other.text]).toEqual([200, 'stable']);
  });

  it('serves a certificate replaced on disk to new connections; a broken file keeps the old one', async () => {
    const pair = ca.issue(['a.test'], { file: 'rotating' });
    const { port, logged } = await veerWith({ certificates: [pair], watchInterval: '50ms' });
    const serial = async (): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', ca: ca.caPem }, () => {
          resolve(s.getPeerCertificate().serialNumber);
          s.destroy();
        });
        s.on('error', reject);
      });
    const first = await serial();
    // A key that does not match: reported, and the old certificate keeps serving.
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(pair.key, readFileSync(exact.key));
    await waitFor(() => logged.includes('certificate change not applied: the previous certificate keeps serving'), {
      what: 'the broken pair reported',
      timeoutMs: 5_000,
    });
    expect(await serial()).toBe(first);
    ca.issue(['a.test', 'new.a.test'], { file: 'rotating' });
    const next = await waitFor(async () => ((await serial()) !== first ? true : null), {
      what: 'the new certificate',
      timeoutMs: 5_000,
    });
    expect(next).toBe(true);
    const r = await https1({ port, name: 'new.a.test', ca: ca.caPem });
    expect(r.served).toBe('DNS:a.test, DNS:new.a.test');
  });
});
