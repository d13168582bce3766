import { describe, expect, it } from 'vitest';
import { withoutSessionCookie } from '../../../src/domain/session-cookie.js';

describe('withoutSessionCookie', () => {
  it.each([
    ['a=1; veer_session=abc; b=2', 'a=1; b=2'],
    ['veer_session=abc', null],
    ['veer_session=abc;a=1', 'a=1'],
    [' veer_session = abc ; veer_session=def', null],
    ['a=1;veer_session', 'a=1'],
  ])('%j → %j', (value, kept) => {
    expect(withoutSessionCookie(value)).toBe(kept);
  });

  it('keeps a header without the session as it came, and cookies whose name only contains it', () => {
    const value = 'a=1;b=2';
    expect(withoutSessionCookie(value)).toBe(value);
    expect(withoutSessionCookie('my_veer_session=1; veer_session_x=2; x=veer_session')).toBe(
      'my_veer_session=1; veer_session_x=2; x=veer_session',
    );
  });
});
