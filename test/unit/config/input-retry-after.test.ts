// Retry-After is whole seconds: a maintenance retryAfter (config or switch) is from 1 s to a day, and a
// fraction of a second is refused (as the CLI refuses it), never rounded to a value nobody gave.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { maintenanceSchema, MAX_RETRY_AFTER_MS, retryAfterValue } from '../../../src/config/page-schema.js';
import { validateWith } from '../../../src/config/problems.js';
import { readPages } from '../../../src/dataplane/pages.js';
import { silentLogger } from '../../../src/domain/log.js';

const RANGE = 'must be from 1s to 24h (Retry-After is whole seconds)';

describe('retryAfter', () => {
  it.each([
    ['1s', 1000],
    [1000, 1000],
    ['2000ms', 2000],
    ['30s', 30_000],
    ['24h', MAX_RETRY_AFTER_MS],
  ])('accepts %j as %d ms, whole seconds', (input, ms) => {
    expect(validateWith(retryAfterValue, input)).toEqual({ ok: true, value: ms });
  });

  it.each([[0.5], ['500ms'], [0], [1e308], ['99999999h'], ['600h'], ['25h'], [MAX_RETRY_AFTER_MS + 1]])(
    'refuses %j with the range',
    (input) => {
      expect(validateWith(retryAfterValue, input)).toEqual({ ok: false, error: [{ path: '', message: RANGE }] });
    },
  );

  it('a value that is not a duration keeps its own message', () => {
    expect(validateWith(retryAfterValue, 'soon')).toMatchObject({
      ok: false,
      error: [{ path: '', message: expect.stringMatching(/^expected a duration like/) }],
    });
    expect(validateWith(retryAfterValue, '-1s').ok).toBe(false);
    expect(validateWith(retryAfterValue, -1)).toEqual({
      ok: false,
      error: [{ path: '', message: 'expected a non-negative duration' }],
    });
  });

  it('the config default stays 30s, and the bound applies there too', () => {
    expect(validateWith(maintenanceSchema, {})).toMatchObject({ ok: true, value: { retryAfter: 30_000 } });
    expect(validateWith(maintenanceSchema, { retryAfter: '2d' }).ok).toBe(false);
    expect(validateWith(maintenanceSchema, { retryAfter: 1e308 })).toEqual({
      ok: false,
      error: [{ path: 'retryAfter', message: RANGE }],
    });
  });

  it('a fraction of a second is refused, in the config and the switch alike', () => {
    for (const v of ['1500ms', '1.5s', 2500])
      expect(validateWith(retryAfterValue, v)).toEqual({
        ok: false,
        error: [{ path: '', message: `must be whole seconds (Retry-After is whole seconds), got ${v}` }],
      });
    const text = [
      'services:',
      '  - name: web',
      '    stable: { targets: ["127.0.0.1:9001"] }',
      '    maintenance: { retryAfter: 2500ms }',
    ].join('\n');
    const r = parseConfigText(text, {});
    expect(r.ok ? [] : r.error.problems.map((p) => p.path)).toEqual(['services[0].maintenance.retryAfter']);
  });

  it('the service config writes the seconds given', () => {
    const text = [
      'listen: 127.0.0.1:8080',
      'state: { store: memory }',
      'services:',
      '  - name: web',
      '    stable: { targets: ["127.0.0.1:9001"] }',
      '    maintenance: { retryAfter: 3s }',
    ].join('\n');
    const r = parseConfigText(text, {});
    if (!r.ok) throw r.error;
    const service = r.value.services[0];
    if (!service) throw new Error('no service');
    expect(service.maintenance.retryAfter).toBe(3000);
    expect(readPages(service, silentLogger).retryAfterS).toBe(3);
  });
});
