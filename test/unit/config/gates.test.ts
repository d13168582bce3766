// Gate keys through `veer validate` (the command, on a real file) and the config loader: both forms
// of a gate, their defaults, and a clear problem for each bad URL or field.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/main.js';
import { parseConfigText } from '../../../src/config/load.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veer-gates-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (rollout: string): string =>
  [
    'listen: 127.0.0.1:8080',
    'state: { store: memory }',
    'services:',
    '  - name: web',
    '    stable: { targets: ["127.0.0.1:9001"] }',
    '    rollout:',
    ...rollout.split('\n').map((l) => `      ${l}`),
  ].join('\n');

async function validate(text: string): Promise<{ code: number; out: string[]; err: string[] }> {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(path, text);
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['validate', '-c', path], { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out, err };
}

describe('rollout gates in the config', () => {
  it('a URL or an object; defaults: 5s timeout, 2 retries, no headers, onGateFailure hold', async () => {
    const text = config(
      [
        'gates:',
        '  beforeTraffic: http://127.0.0.1:7000/smoke',
        '  beforePromotion: { url: "https://approvals.example/veer", timeout: 2s, retries: 0, headers: { x-key: k } }',
      ].join('\n'),
    );
    expect(await validate(text)).toEqual({ code: 0, out: ['ok: 1 services'], err: [] });
    const r = parseConfigText(text, {});
    if (!r.ok) throw r.error;
    const rollout = r.value.services[0]?.rollout;
    expect(rollout?.gates).toEqual({
      beforeTraffic: { url: 'http://127.0.0.1:7000/smoke', timeout: 5_000, retries: 2, headers: {} },
      beforePromotion: { url: 'https://approvals.example/veer', timeout: 2_000, retries: 0, headers: { 'x-key': 'k' } },
    });
    expect(rollout?.onGateFailure).toBe('hold');
  });

  it('without gates a rollout has none', () => {
    const r = parseConfigText(config('steps: [50, 100]'), {});
    if (!r.ok) throw r.error;
    expect(r.value.services[0]?.rollout.gates).toEqual({});
  });

  it('veer validate names every bad gate and exits 2', async () => {
    const text = config(
      [
        'gates:',
        '  beforeTraffic: ftp://127.0.0.1/smoke',
        '  beforeEachStep: /check',
        '  beforePromotion: { url: "http://x/", timeout: soon, retries: 20 }',
        '  afterPromotion: http://127.0.0.1:7000/',
        'onGateFailure: retry',
      ].join('\n'),
    );
    const r = await validate(text);
    expect(r.code).toBe(2);
    const lines = r.err.join('\n');
    const example = 'expected an absolute http(s) URL such as "http://127.0.0.1:7000/smoke"';
    expect(lines).toContain(`services[0].rollout.gates.beforeTraffic.url: ${example}, got "ftp://127.0.0.1/smoke"`);
    expect(lines).toContain(`services[0].rollout.gates.beforeEachStep.url: ${example}, got "/check"`);
    expect(lines).toContain('services[0].rollout.gates.beforePromotion.timeout: expected a duration like');
    expect(lines).toContain('services[0].rollout.gates.beforePromotion.retries: must be ≤ 10');
    expect(lines).toContain('services[0].rollout.gates.afterPromotion: unknown key');
    expect(lines).toContain('services[0].rollout.onGateFailure: expected "hold" or "rollback", got "retry"');
    expect(lines).not.toMatch(/\n\s+at\s/);
  });

  it('a gate that is neither a URL nor an object says what it should be', () => {
    const r = parseConfigText(config('gates: { beforeTraffic: 7000 }'), {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.problems).toEqual([
      {
        path: 'services[0].rollout.gates.beforeTraffic',
        message: 'expected an http(s) URL or {url, timeout?, retries?, headers?}',
      },
    ]);
  });
});
