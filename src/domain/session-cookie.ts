// The dashboard's session cookie, and its removal from what the data plane forwards. Browsers scope
// a cookie to the host, not the port: once someone logs in to the dashboard at 127.0.0.1:9090 (or
// any name the data plane also serves), their browser sends the cookie to every service behind veer
// on that host, and an upstream that can reach the admin API could act as them. Upstreams never see it.

export const SESSION_COOKIE = 'veer_session';

/** A Cookie field's value without the session's pairs: the same string when it has none, null when nothing is left. */
export function withoutSessionCookie(value: string): string | null {
  if (!value.includes(SESSION_COOKIE)) return value;
  const kept = value.split(';').filter((pair) => {
    const eq = pair.indexOf('=');
    return (eq < 0 ? pair : pair.slice(0, eq)).trim() !== SESSION_COOKIE;
  });
  const out = kept.map((p) => p.trim()).join('; ');
  return out === '' ? null : out;
}
