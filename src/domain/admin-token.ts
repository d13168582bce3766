// What an admin token may hold. The token travels in an Authorization header, `Bearer <token>`: a header
// value cannot begin or end with whitespace, the bearer form ends at the first space, and a header is read
// as Latin-1 (a non-ASCII character arrives as other characters). The config refuses such a token, since
// it would never match; the CLI refuses to send one, since the HTTP client would throw on it. The message
// names the character and its place, never the token.

/** Why `token` cannot travel as a bearer token, or null when it can. */
export function tokenProblem(token: string): string | null {
  if (token.trim() !== token) return 'must not begin or end with whitespace (a header value cannot carry it)';
  const at = token.search(/[^\x21-\x7e]/);
  if (at === -1) return null;
  const ch = token.codePointAt(at) as number;
  const what = ch === 0x20 ? 'a space' : `U+${ch.toString(16).toUpperCase().padStart(4, '0')}`;
  return (
    `must be printable ASCII without spaces, found ${what} at character ${at + 1} ` +
    '(the token travels in an Authorization header as "Bearer <token>")'
  );
}
