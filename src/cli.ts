#!/usr/bin/env node
// The `veer` executable: Node's compile cache first, then the command line (cli/executable.ts).
import { enableCompileCache } from './compile-cache.js';

enableCompileCache();
// Imported only now: the modules of a static import are compiled before any of this file runs, and so
// before the cache is on.
await import('./cli/executable.js');
