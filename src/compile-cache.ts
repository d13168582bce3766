// Node's on-disk compile cache (Node 22.1 and later): V8 keeps the code it compiled from veer's modules and
// its packages' in a directory (os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE), so every start after
// the first reads it instead of compiling them again: a `veer start`, each data-plane worker, each `veer
// shift` a pipeline runs. NODE_DISABLE_COMPILE_CACHE=1 turns it off. Node 20 has no such API: nothing
// happens. A cache that cannot be used (a read-only /tmp) only costs the compile it would have saved: Node
// reports that instead of throwing, and a throw is caught all the same.
import nodeModule from 'node:module';

type WithCache = { enableCompileCache?: () => unknown };

export function enableCompileCache(from: WithCache = nodeModule as WithCache): boolean {
  if (typeof from.enableCompileCache !== 'function') return false;
  try {
    from.enableCompileCache();
    return true;
  } catch {
    return false;
  }
}
