// veer's version, from its package.json (0.0.0 when that cannot be read).
import { readFileSync } from 'node:fs';

export const VERSION: string = (() => {
  try {
    const pkg = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    return (JSON.parse(pkg) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
