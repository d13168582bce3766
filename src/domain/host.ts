// How routing keys a host: one rule for the router and for the config checks that predict it.

/** Lower-case, without port and without a trailing dot. */
export function normalizeHost(h: string): string {
  let s = h;
  if (s.charCodeAt(0) === 91 /* '[' */) {
    const end = s.indexOf(']');
    return (end === -1 ? s : s.slice(0, end + 1)).toLowerCase();
  }
  const colon = s.indexOf(':');
  if (colon !== -1) s = s.slice(0, colon);
  if (s.endsWith('.')) s = s.slice(0, -1);
  return s.toLowerCase();
}
