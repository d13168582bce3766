// vitest's global setup: at the end of the run, the port claims its test files made (free-port.ts)
// are removed, their servers ended with the files, and so is the run's heavy-test slot directory.
import { releaseClaims } from './free-port.js';
import { removeHeavySlots } from './heavy-slots.js';

export function teardown(): void {
  releaseClaims(String(process.pid));
  removeHeavySlots(String(process.pid));
}
