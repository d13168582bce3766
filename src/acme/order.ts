// One certificate order for one host, driven step by step (not acme-client's auto(), which first
// checks the challenge itself on port 80 through the system resolver): order, prove each name with
// HTTP-01 through the shared challenge board, finalize with a CSR, download. Every step is bounded.
import { X509Certificate } from 'node:crypto';
import acme from 'acme-client';
import { withTimeout } from '../domain/async.js';

/** Where key authorizations are published for the data plane of every replica to answer. */
export interface ChallengeBoard {
  publish(token: string, keyAuthorization: string, host: string): Promise<void>;
  withdraw(token: string): Promise<void>;
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
  timeoutMs: number,
): Promise<Issued> {
  const step: Step = (p, what) => withTimeout(p, timeoutMs, what);
  const order = await step(client.createOrder({ identifiers: [{ type: 'dns', value: host }] }), 'creating the order');
  const authorizations = await step(client.getAuthorizations(order), 'reading the authorizations');
  for (const authz of authorizations) await prove(client, authz, board, step);
  const key = await acme.crypto.createPrivateEcdsaKey('P-256');
  const [, csr] = await acme.crypto.createCsr({ commonName: host, altNames: [host] }, key);
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

async function prove(client: acme.Client, authz: acme.Authorization, board: ChallengeBoard, step: Step): Promise<void> {
  // The server may reuse a name it validated recently for this account.
  if (authz.status === 'valid') return;
  const name = authz.identifier.value;
  const challenge = authz.challenges.find((c) => c.type === 'http-01');
  if (challenge === undefined) throw new Error(`the ACME server offers no http-01 challenge for ${name}`);
  const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
  await board.publish(challenge.token, keyAuthorization, name);
  try {
    await step(client.completeChallenge(challenge), `asking the server to validate ${name}`);
    await step(client.waitForValidStatus(challenge), `waiting for ${name} to be validated`);
  } finally {
    await board.withdraw(challenge.token).catch(() => undefined);
  }
}
