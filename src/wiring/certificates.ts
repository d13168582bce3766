// A reload's certificates for one data plane (the primary's, or a worker's when the primary sends them).
import type { Config } from '../config/schema.js';
import type { DataPlane } from '../dataplane/dataplane.js';

/** Swapped without closing a connection; a pair that cannot be used changes nothing. */
export async function replaceCertificates(plane: Pick<DataPlane, 'tls'>, c: Config): Promise<void> {
  if (plane.tls === null || c.tls === undefined) return;
  const problems = plane.tls.replaceCertificates(c.tls);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
}
