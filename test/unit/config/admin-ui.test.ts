import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../../src/config/load.js';

const parse = (admin: unknown) => parseConfigObject({ admin, services: [] }, {});

describe('admin.ui', () => {
  it('defaults to a 12 h session and a cookie Secure over https only', () => {
    const r = parse({});
    expect(r.ok && r.value.admin.ui).toEqual({ sessionTtl: 12 * 3600_000, secureCookie: 'auto' });
  });

  it('takes a duration and a cookie mode', () => {
    const r = parse({ ui: { sessionTtl: '30m', secureCookie: 'always' } });
    expect(r.ok && r.value.admin.ui).toEqual({ sessionTtl: 1_800_000, secureCookie: 'always' });
  });

  it('names each bad field', () => {
    const r = parse({ ui: { sessionTtl: '500ms', secureCookie: 'yes', extra: 1 } });
    expect(r.ok).toBe(false);
    const text = r.ok ? '' : r.error.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    expect(text).toContain('admin.ui.sessionTtl: must be at least 1s');
    expect(text).toContain('admin.ui.secureCookie: expected "auto", "always" or "never", got "yes"');
    expect(text).toContain('admin.ui');
  });
});
