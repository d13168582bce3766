// A package required at its first use instead of at veer's start. Loading acme-client (with x509 and forge),
// dockerode (with ssh2 and gRPC) and ioredis made a `veer start` cost ~1.7 s of CPU and 1.3 s to listen, against
// ~1.0 s and 0.9 s without them, and an installation uses each only if its config asks for it (ACME, Docker pools
// or an SSH endpoint, the Redis store): a front door with static targets and the file store loads none.
// All four are CommonJS, so a synchronous require gives the same module an import would.
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** A function that requires `name` when first called, and returns that module ever after. */
export function lazyPackage<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(name) as T);
}
