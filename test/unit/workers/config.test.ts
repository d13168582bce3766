// `workers: auto | N`: the schema, the check with tls.acme, how many processes a setting means here,
// and how long a crashed worker waits before it is replaced.
import { describe, expect, it } from 'vitest';
import { inspectConfigText } from '../../../src/config/load.js';
import { localAddressSet } from '../../../src/domain/self-address.js';
import { workerCount } from '../../../src/workers/count.js';
import { restartDelay } from '../../../src/workers/member.js';

const host = { localAddresses: localAddressSet(['127.0.0.1']) };
const SERVICE =
  'services:\n  - { name: web, match: { hosts: [app.example.com] }, stable: { targets: ["127.0.0.1:9001"] } }\n';
const inspect = (extra: string) =>
  inspectConfigText(`listen: 127.0.0.1:8080\n${SERVICE}${extra}`, {}, undefined, host).result;

function problemsOf(extra: string): Array<[string, string]> {
  const r = inspect(extra);
  if (r.ok) throw new Error('expected problems');
  return r.error.problems.map((p) => [p.path, p.message]);
}

describe('workers config', () => {
  it('defaults to auto and takes an integer from 1 to 64', () => {
    const r = inspect('');
    expect(r.ok && r.value.workers).toBe('auto');
    const four = inspect('workers: 4\n');
    expect(four.ok && four.value.workers).toBe(4);
  });

  it.each(['0', '65', '2.5', 'many', '-1'])('refuses workers: %s, naming the field', (v) => {
    expect(problemsOf(`workers: ${v}\n`)).toEqual([['workers', 'expected "auto" or an integer from 1 to 64']]);
  });

  it('refuses several workers with tls.acme (challenge answers and certificates stay in one process)', () => {
    const acme = 'tls:\n  acme:\n    directory: https://ca.example/dir\n';
    const p = problemsOf(`workers: 2\n${acme}`);
    expect(p).toHaveLength(1);
    expect(p[0]?.[0]).toBe('workers');
    expect(p[0]?.[1]).toContain('tls.acme needs veer in one process');
    expect(inspect(`workers: 1\n${acme}`).ok).toBe(true);
    expect(inspect(`workers: auto\n${acme}`).ok).toBe(true);
  });
});

describe('workerCount', () => {
  it('auto: every core above 2, else one process', () => {
    expect(workerCount({ workers: 'auto' }, 8)).toBe(8);
    expect(workerCount({ workers: 'auto' }, 3)).toBe(3);
    expect(workerCount({ workers: 'auto' }, 2)).toBe(1);
    expect(workerCount({ workers: 'auto' }, 1)).toBe(1);
    expect(workerCount({ workers: 'auto' }, 200)).toBe(64);
  });

  it('N is N whatever the cores; auto with tls.acme is one process', () => {
    expect(workerCount({ workers: 3 }, 2)).toBe(3);
    const tls = { acme: {} } as unknown as NonNullable<Parameters<typeof workerCount>[0]['tls']>;
    expect(workerCount({ workers: 'auto', tls }, 16)).toBe(1);
  });
});

describe('restartDelay', () => {
  it('replaces a worker that ran a while at once, and backs off (doubling, capped) while it crash-loops', () => {
    expect(restartDelay(0, 60_000)).toBe(0);
    expect(restartDelay(0, 500)).toBe(100);
    expect(restartDelay(100, 500)).toBe(200);
    expect(restartDelay(3_200, 500)).toBe(5_000);
    expect(restartDelay(5_000, 500)).toBe(5_000);
    expect(restartDelay(5_000, 10_000)).toBe(0);
  });
});
