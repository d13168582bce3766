// Small HTTPS and HTTP/2 clients for TLS tests: each request on a fresh connection to 127.0.0.1 with
// the name to ask for (SNI and Host), verifying against the test CA; what came back includes the
// certificate the server chose.
import { request as httpsRequest } from 'node:https';
import { connect as h2connect, type IncomingHttpHeaders as H2Headers } from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface TlsResult {
  status: number;
  headers: IncomingHttpHeaders | H2Headers;
  text: string;
  /** The names of the certificate served (its subjectaltname). */
  served: string;
  protocol: string;
}

export interface TlsRequest {
  port: number;
  name: string;
  ca: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

export function https1(r: TlsRequest): Promise<TlsResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: r.port,
        servername: r.name,
        ca: r.ca,
        path: r.path ?? '/',
        method: r.method ?? 'GET',
        headers: { host: `${r.name}:${r.port}`, ...r.headers },
        agent: false,
        timeout: 5_000,
      },
      (res) => {
        const cert: PeerCertificate = (res.socket as TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
            served: cert.subjectaltname ?? '',
            protocol: `http/${res.httpVersion}`,
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('https request timed out')));
    req.on('error', reject);
    req.end(r.body);
  });
}

export function http2(r: TlsRequest): Promise<TlsResult> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://${r.name}:${r.port}`, { host: '127.0.0.1', servername: r.name, ca: r.ca });
    const fail = (e: Error): void => {
      session.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error('h2 request timed out')), 5_000);
    session.on('error', fail);
    const stream = session.request({ ':path': r.path ?? '/', ':method': r.method ?? 'GET', ...r.headers });
    stream.on('error', fail);
    const chunks: Buffer[] = [];
    let headers: H2Headers = {};
    stream.on('response', (h) => (headers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      clearTimeout(timer);
      const cert = (session.socket as TLSSocket).getPeerCertificate();
      const protocol = (session.socket as TLSSocket).alpnProtocol || '';
      session.close();
      resolve({
        status: Number(headers[':status']),
        headers,
        text: Buffer.concat(chunks).toString(),
        served: cert.subjectaltname ?? '',
        protocol,
      });
    });
    stream.end(r.body);
  });
}
