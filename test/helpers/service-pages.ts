// A service's pages as a hand-built route carries them when no page files are configured.
import type { ServicePages } from '../../src/dataplane/pages.js';

export const noPages = (): ServicePages => ({
  errors: {},
  maintenance: Buffer.from(''),
  retryAfterS: 30,
  holdTimeoutMs: 30_000,
  maxHeld: 1000,
  stamp: '',
});
