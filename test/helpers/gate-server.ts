// A rollout gate for tests: a real HTTP server on 127.0.0.1:0 that records every ask (the JSON body,
// which replica asked, when) and answers what the test says, now or after something it does first
// (a smoke test through veer). "hang" never answers; closing the server destroys its sockets.
import type { ServerResponse } from 'node:http';
import type { GateRequest } from '../../src/rollout/gate-wait.js';
import { startRawServer } from './veer.js';

export type GateReply = { status: number; body: string } | 'hang';

export interface GateCall {
  body: GateRequest;
  /** The `x-veer-replica` header: the replica that asked. */
  replica: string | undefined;
  at: number;
}

export interface TestGate {
  readonly url: string;
  readonly calls: GateCall[];
  /** The answer to the next asks (a function of the ask, e.g. to smoke-test the canary first). */
  reply(r: GateReply | ((call: GateCall) => GateReply | Promise<GateReply>)): void;
  close(): Promise<void>;
}

export async function startGate(initial: GateReply): Promise<TestGate> {
  const calls: GateCall[] = [];
  let decide: (call: GateCall) => GateReply | Promise<GateReply> = () => initial;
  const answer = (res: ServerResponse, r: GateReply): void => {
    if (r !== 'hang' && !res.destroyed) res.writeHead(r.status, { 'content-type': 'text/plain' }).end(r.body);
  };
  const server = await startRawServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const replica = req.headers['x-veer-replica'];
      const call: GateCall = {
        body: JSON.parse(Buffer.concat(chunks).toString()) as GateRequest,
        replica: typeof replica === 'string' ? replica : undefined,
        at: Date.now(),
      };
      calls.push(call);
      Promise.resolve(decide(call)).then(
        (r) => answer(res, r),
        (e: unknown) => answer(res, { status: 500, body: `gate test failed: ${String(e)}` }),
      );
    });
  });
  return {
    url: `http://${server.address}/gate`,
    calls,
    reply(r) {
      decide = typeof r === 'function' ? r : () => r;
    },
    close: () => server.close(),
  };
}
