// A misspelled image is the caller's mistake, said as such: the rollout request names `image` and
// what a reference looks like, and an engine call Node refuses to send is not an unreachable engine.
import { describe, expect, it } from 'vitest';
import { rolloutBody } from '../../../src/api/routes/rollouts.js';
import { isConnectionError } from '../../../src/docker/engine-errors.js';
import { isImageReference } from '../../../src/docker/image-ref.js';

describe('isImageReference', () => {
  it('takes what the engine parses', () => {
    for (const ref of [
      'app',
      'app:2',
      'veer-test-app:health',
      'library/nginx:1.27-alpine',
      'registry.example.com:5000/team/app:2.1',
      'localhost:5000/a__b/c.d-e:Tag_1',
      '[::1]:5000/app:1',
      `app@sha256:${'a'.repeat(64)}`,
      `ghcr.io/o/app:2@sha256:${'0'.repeat(64)}`,
    ])
      expect(isImageReference(ref), ref).toBe(true);
  });

  it('refuses spaces, uppercase names, bad tags and digests, an overlong name', () => {
    for (const ref of [
      'veer test app:2',
      'Veer-test-app:2',
      'app:2#x',
      'app:%zz',
      'app:',
      ':2',
      'app//x',
      '-app',
      'app:-2',
      `app:${'t'.repeat(129)}`,
      'app@sha256:abc',
      `${'a'.repeat(256)}:1`,
    ])
      expect(isImageReference(ref), ref).toBe(false);
  });
});

describe('a rollout request with a malformed image', () => {
  it('is refused naming canary.image and what a reference looks like', () => {
    const r = rolloutBody.safeParse({ canary: { image: 'veer test app:2' } });
    expect(r.success).toBe(false);
    const issue = r.error?.issues[0];
    expect(issue?.path).toEqual(['canary', 'image']);
    expect(issue?.message).toMatch(/expected an image reference.*lowercase name and no spaces/);
    expect(rolloutBody.safeParse({ canary: { image: ' app:2 ' } }).data?.canary).toMatchObject({ image: 'app:2' });
  });
});

describe('isConnectionError', () => {
  it("Node's refusal to send a request is not a lost connection; socket and TLS failures are", () => {
    for (const code of ['ERR_UNESCAPED_CHARACTERS', 'ERR_INVALID_CHAR', 'ERR_INVALID_ARG_TYPE'])
      expect(isConnectionError(Object.assign(new Error(code), { code })), code).toBe(false);
    for (const code of [
      'ECONNREFUSED',
      'ENOENT',
      'EAI_AGAIN',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ERR_SSL_WRONG_VERSION_NUMBER',
    ])
      expect(isConnectionError(Object.assign(new Error(code), { code })), code).toBe(true);
    expect(isConnectionError(Object.assign(new Error('t'), { code: 'ERR_SOCKET_CONNECTION_TIMEOUT' }))).toBe(true);
  });
});
