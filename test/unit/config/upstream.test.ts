// `services[].upstream` as `veer validate` and `veer start` check it: defaults, names and numbers for
// the gRPC codes, and every bad value named by its field.
import { describe, expect, it } from 'vitest';
import { inspectConfigText } from '../../../src/config/load.js';

function inspect(upstream: string | null) {
  const svc = upstream === null ? '' : `\n    upstream: ${upstream}`;
  return inspectConfigText(
    `listen: 127.0.0.1:8080\nservices:\n  - name: api\n    stable: { targets: ["127.0.0.1:9000"] }${svc}\n`,
    {},
  ).result;
}

function problemsOf(upstream: string): Array<[string, string]> {
  const r = inspect(upstream);
  if (r.ok) throw new Error('expected problems');
  return r.error.problems.map((p) => [p.path, p.message]);
}

describe('services[].upstream', () => {
  it('defaults to HTTP/1.1 with the four failing gRPC codes', () => {
    const r = inspect(null);
    if (!r.ok) throw r.error;
    expect(r.value.services[0]?.upstream).toEqual({ protocol: 'http1', grpcErrorCodes: [14, 13, 2, 4] });
  });

  it('takes h2c and gRPC codes by name (any case) or number', () => {
    const r = inspect('{ protocol: h2c, grpcErrorCodes: [unavailable, 8, RESOURCE_EXHAUSTED] }');
    if (!r.ok) throw r.error;
    expect(r.value.services[0]?.upstream).toEqual({ protocol: 'h2c', grpcErrorCodes: [14, 8, 8] });
  });

  it('names the field of every bad value', () => {
    expect(problemsOf('{ protocol: h2 }')).toEqual([
      ['services[0].upstream.protocol', expect.stringMatching(/http1.*h2c/) as string],
    ]);
    const codes = problemsOf('{ protocol: h2c, grpcErrorCodes: [UNAVAILABLE, BROKEN, 17] }');
    expect(codes.map(([p]) => p)).toEqual([
      'services[0].upstream.grpcErrorCodes[1]',
      'services[0].upstream.grpcErrorCodes[2]',
    ]);
    expect(codes[0]?.[1]).toMatch(/expected a gRPC status name \(OK, CANCELLED, .*\) or number 0-16, got "BROKEN"/);
    expect(problemsOf('{ protocol: h2c, retries: 3 }')[0]?.[0]).toMatch(/^services\[0\]\.upstream/);
  });
});
