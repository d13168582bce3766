// admin.token travels in an Authorization header (`Bearer <token>`): a token that header cannot carry whole
// (a space inside, a control or non-ASCII character) is refused by the config, wherever it comes from,
// instead of being taken and then never matching.
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { parseConfigText } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/domain/log.js';
import type { Problem } from '../../../src/domain/errors.js';
import { FakeDirectory, fakeDeps, fakeService } from './fake-directory.js';

const WHY = '(the token travels in an Authorization header as "Bearer <token>")';

function tokenProblems(env: Record<string, string>): Problem[] {
  const r = parseConfigText('admin: { token: "${VEER_ADMIN_TOKEN}" }\n', env);
  return r.ok ? [] : r.error.problems.filter((p) => p.path === 'admin.token');
}

describe('admin.token', () => {
  it('refuses whitespace, control and non-ASCII characters inside, naming the character and its place', () => {
    const cases: Array<[string, string]> = [
      ['abc def', 'a space at character 4'],
      ['abc\tdef', 'U+0009 at character 4'],
      ['ab\u0007c', 'U+0007 at character 3'],
      ['tokén', 'U+00E9 at character 4'],
      ['a\u00a0b', 'U+00A0 at character 2'],
    ];
    for (const [token, found] of cases)
      expect(tokenProblems({ VEER_ADMIN_TOKEN: token }), JSON.stringify(token)).toEqual([
        { path: 'admin.token', message: `must be printable ASCII without spaces, found ${found} ${WHY}` },
      ]);
  });

  it('keeps refusing whitespace at either end with its own message', () => {
    expect(tokenProblems({ VEER_ADMIN_TOKEN: ' abc' })).toEqual([
      { path: 'admin.token', message: 'must not begin or end with whitespace (a header value cannot carry it)' },
    ]);
  });

  it('takes every printable ASCII token, and such a token works as a bearer token', async () => {
    const token = 'A-z_0.9~+/=!#$%&\'*^`|"(),:;<>?@[\\]{}';
    const r = parseConfigText('admin: { token: "${VEER_ADMIN_TOKEN}" }\n', { VEER_ADMIN_TOKEN: token });
    expect(r.ok && r.value.admin.token).toBe(token);
    const app = buildApp(fakeDeps(new FakeDirectory([fakeService('web')]), { token }), { logger: silentLogger });
    try {
      const res = await app.inject({ url: '/v1/services', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
