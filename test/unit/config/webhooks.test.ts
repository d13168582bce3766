// notifications.webhooks[].format: generic by default, the three chat formats, and a clear problem
// naming the field for anything else (what `veer validate` prints).
import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../../src/config/load.js';

const withHook = (hook: Record<string, unknown>): unknown => ({
  notifications: { webhooks: [{ url: 'https://hooks.example.com/x', ...hook }] },
});

describe('webhook format', () => {
  it('defaults to generic and accepts slack, teams and discord', () => {
    const r = parseConfigObject(withHook({}), {});
    if (!r.ok) throw r.error;
    expect(r.value.notifications.webhooks[0]?.format).toBe('generic');
    for (const format of ['slack', 'teams', 'discord', 'generic']) {
      const f = parseConfigObject(withHook({ format }), {});
      if (!f.ok) throw f.error;
      expect(f.value.notifications.webhooks[0]?.format).toBe(format);
    }
  });

  it('refuses another format, naming the field and the formats it accepts', () => {
    const r = parseConfigObject(withHook({ format: 'mattermost' }), {});
    if (r.ok) throw new Error('expected a problem');
    expect(r.error.problems).toEqual([
      expect.objectContaining({
        path: 'notifications.webhooks[0].format',
        message: expect.stringMatching(/"generic", "slack", "teams" or "discord", got "mattermost"/),
      }),
    ]);
  });
});

describe('webhook headers', () => {
  const problems = (headers: Record<string, unknown>) => {
    const r = parseConfigObject(withHook({ headers }), {});
    if (r.ok) throw new Error('expected a problem');
    return r.error.problems;
  };

  it('accepts tokens with Latin-1 values, and a Content-Type of its own (replaced: the body is JSON)', () => {
    const headers = { authorization: 'Bearer t0k', 'x-a': 'a\tb é', 'Content-Type': 'text/plain' };
    const r = parseConfigObject(withHook({ headers }), {});
    if (!r.ok) throw r.error;
    expect(r.value.notifications.webhooks[0]?.headers).toEqual(headers);
  });

  it.each([
    [
      { 'bad header': 'x' },
      'headers["bad header"]',
      "is not a valid header name (expected letters, digits and !#$%&'*+-.^_`|~)",
    ],
    [
      { 'x-t': 'a\r\nInjected: 1' },
      'headers["x-t"]',
      'value must not contain control characters (CR, LF, NUL…; tab is allowed)',
    ],
    [{ 'x-t': 'é€' }, 'headers["x-t"]', 'value must contain only characters up to U+00FF (percent-encode other text)'],
    [{ host: 'evil.example' }, 'headers.host', "cannot be set on a webhook: it is set by veer from the webhook's URL"],
    [
      { 'Content-Length': '1' },
      'headers["Content-Length"]',
      'cannot be set on a webhook: it frames the request and is set by veer',
    ],
    [
      { connection: 'close' },
      'headers.connection',
      'cannot be set on a webhook: it is about the connection, which veer manages',
    ],
    [{ 'X-K': 'a', 'x-k': 'b' }, 'headers["x-k"]', 'is given twice (header names ignore case)'],
  ])('refuses %j, naming the header and what is expected', (headers, path, message) => {
    expect(problems(headers)).toEqual([{ path: `notifications.webhooks[0].${path}`, message }]);
  });
});
