// Request ids: which incoming values are kept (a sane value from a trusted peer), and how new ones are
// made (a per-process random prefix and a counter: distinct, cheap, deterministic under a seeded Random).
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/domain/clock.js';
import { isSaneRequestId, MAX_REQUEST_ID, RequestIds } from '../../../src/dataplane/request-id.js';
import { htmlWithId, jsonWithId } from '../../../src/dataplane/request-id-body.js';
import { builtinPage } from '../../../src/dataplane/pages.js';
import { errorBody } from '../../../src/domain/error-body.js';

describe('isSaneRequestId', () => {
  it.each([
    ['a uuid', '0f8fad5b-d9cb-469f-a165-70867728950e', true],
    ['a ulid', '01ARZ3NDEKTSV4RRFFQ69G5FAV', true],
    ['base64 with padding', 'q83vEjRWeJA=', true],
    ['a trace id with ; and :', 'Root=1-5759e988;Parent=53995c3f:1', true],
    ['one character', 'x', true],
    ['the longest kept', 'a'.repeat(MAX_REQUEST_ID), true],
    ['empty', '', false],
    ['one too long', 'a'.repeat(MAX_REQUEST_ID + 1), false],
    ['a space', 'a b', false],
    ['a comma (two joined fields)', 'a, b', false],
    ['a quote', 'a"b', false],
    ['html', '<script>', false],
    ['a backslash', 'a\\b', false],
    ['non-ASCII', 'é', false],
    ['a control character', 'a\tb', false],
  ])('%s', (_name, value, sane) => {
    expect(isSaneRequestId(value)).toBe(sane);
  });
});

describe('RequestIds', () => {
  it('makes distinct, sane ids with one fixed-width prefix per process', () => {
    const ids = new RequestIds(seededRandom(7));
    const made = Array.from({ length: 10_000 }, () => ids.next());
    expect(new Set(made).size).toBe(made.length);
    for (const id of made.slice(0, 50)) expect(isSaneRequestId(id)).toBe(true);
    const prefix = (made[0] as string).slice(0, 11);
    expect(prefix).toMatch(/^[0-9a-z]{10}-$/);
    expect(made.every((id) => id.startsWith(prefix))).toBe(true);
    expect(made[0]).toBe(`${prefix}1`);
    expect(made[35]).toBe(`${prefix}10`);
  });

  it('two processes (two draws) get different prefixes; the same seed the same one', () => {
    const a = new RequestIds(seededRandom(1)).next();
    const b = new RequestIds(seededRandom(2)).next();
    expect(a).not.toBe(b);
    expect(new RequestIds(seededRandom(1)).next()).toBe(a);
  });

  it('keeps a sane value only from a trusted peer', () => {
    const ids = new RequestIds(seededRandom(3));
    expect(ids.choose('abc-123', true)).toBe('abc-123');
    expect(ids.choose('abc-123', false)).not.toBe('abc-123');
    expect(ids.choose('bad value', true)).not.toBe('bad value');
    expect(ids.choose(['a', 'b'], true)).toMatch(/^[0-9a-z]{10}-/);
    expect(ids.choose(undefined, true)).toMatch(/^[0-9a-z]{10}-/);
  });
});

describe('the request id in veer error bodies', () => {
  it('JSON: beside code and message', () => {
    const body = jsonWithId(Buffer.from(errorBody('no_route', 'nothing here')), 'id-1');
    expect(JSON.parse(body.toString())).toEqual({
      error: { code: 'no_route', message: 'nothing here', requestId: 'id-1' },
    });
  });

  it('HTML: a line under the message of a built-in page; a page without </body> stays as it is', () => {
    const page = htmlWithId(builtinPage(502, 'bad'), 'id-2').toString();
    expect(page).toContain('<p>Request ID: <code>id-2</code></p></body>');
    const own = Buffer.from('<h1>down</h1>');
    expect(htmlWithId(own, 'id-3')).toBe(own);
  });
});
