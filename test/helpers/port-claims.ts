// vitest's global setup: at the end of the run, the port claims its test files made (free-port.ts)
// are removed; their servers ended with the files.
import { releaseClaims } from './free-port.js';

export function teardown(): void {
  releaseClaims(String(process.pid));
}
