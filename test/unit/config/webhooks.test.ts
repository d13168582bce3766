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
