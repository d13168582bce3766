// One certificate order for one host, driven step by step (not acme-client's auto(), which first
// checks the challenge itself on port 80 through the system resolver): order, prove each name with
// HTTP-01 or tls-alpn-01 through the shared challenge board, finalize with a CSR, download. Every step
// is bounded.
import { X509Certificate } from 'node:crypto';
import type acme from 'acme-client';
import { withTimeout } from '../domain/async.js';
import { lazyPackage } from '../lazy-package.js';

const acmeClient = lazyPackage<typeof acme>('acme-client');

export type ChallengeType = 'http-01' | 'tls-alpn-01';

/** A challenge's answer: an HTTP-01 key authorization by token, or a tls-alpn-01 certificate by host. */
export type Answer =
  | { type: 'http-01'; host: string; token: string; keyAuthorization: string }
  | { type: 'tls-alpn-01'; host: string; cert: string; key: string };

/** Where answers are published for the data plane of every replica to give. */
export interface ChallengeBoard {
  publish(a: Answer): Promise<void>;
  withdraw(a: Answer): Promise<void>;
}

export interface Issued {
  /** PEM: the certificate followed by its chain. */
  cert: string;
  key: string;
  notBefore: number;
  notAfter: number;
}

type Step = <T>(p: Promise<T>, what: string) => Promise<T>;

export async function orderCertificate(
  client: acme.Client,
  host: string,
  board: ChallengeBoard,
  type: ChallengeType,
  timeoutMs: number,
): Promise<Issued> {
  const step: Step = (p, what) => withTimeout(p, timeoutMs, what);
  const order = await step(client.createOrder({ identifiers: [{ type: 'dns', value: host }] }), 'creating the order');
  const authorizations = await step(client.getAuthorizations(order), 'reading the authorizations');
  for (const authz of authorizations) await prove(client, authz, type, board, step);
  const key = await acmeClient().crypto.createPrivateEcdsaKey('P-256');
  const [, csr] = await acmeClient().crypto.createCsr({ commonName: host, altNames: [host] }, key);
  const finalized = await step(client.finalizeOrder(order, csr), 'finalizing the order');
  const cert = await step(client.getCertificate(finalized), 'downloading the certificate');
  const x509 = new X509Certificate(cert);
  return {
    cert,
    key: key.toString('utf8'),
    notBefore: Date.parse(x509.validFrom),
    notAfter: Date.parse(x509.validTo),
  };
}

async function prove(
  client: acme.Client,
  authz: acme.Authorization,
  type: ChallengeType,
  board: ChallengeBoard,
  step: Step,
): Promise<void> {
  // The server may reuse a name it validated recently for this account.
  if (authz.status === 'valid') return;
  const host = authz.identifier.value;
  // acme-client's types list http-01 and dns-01 only; the server's list has tls-alpn-01 too.
  const challenge = authz.challenges.find((c) => (c.type as string) === type);
  if (challenge === undefined) throw new Error(`the ACME server offers no ${type} challenge for ${host}`);
  const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
  const answer = await answerFor(type, authz, host, challenge.token, keyAuthorization);
  await board.publish(answer);
  try {
    await step(client.completeChallenge(challenge), `asking the server to validate ${host}`);
    await step(client.waitForValidStatus(challenge), `waiting for ${host} to be validated`);
  } finally {
    await board.withdraw(answer).catch(() => undefined);
  }
}

async function answerFor(
  type: ChallengeType,
  authz: acme.Authorization,
  host: string,
  token: string,
  keyAuthorization: string,
): Promise<Answer> {
  if (type === 'http-01') return { type, host, token, keyAuthorization };
  const [key, cert] = await acmeClient().crypto.createAlpnCertificate(authz, keyAuthorization);
  return { type, host, cert: cert.toString('utf8'), key: key.toString('utf8') };
}
