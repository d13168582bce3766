// Docker multiplexes a non-TTY container's stdout and stderr into one body of frames, each with an
// 8-byte header (stream type, 3 zero bytes, big-endian length). Pure, so it is unit-tested.

/** The frames' payloads in order; anything that is not a well-formed frame is kept as raw text. */
export function demuxLogs(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const type = buf[at];
    const validHeader =
      (type === 0 || type === 1 || type === 2) && buf[at + 1] === 0 && buf[at + 2] === 0 && buf[at + 3] === 0;
    if (!validHeader) break;
    const len = buf.readUInt32BE(at + 4);
    parts.push(buf.subarray(at + 8, Math.min(buf.length, at + 8 + len)));
    at += 8 + len;
  }
  if (at < buf.length) parts.push(buf.subarray(at));
  return Buffer.concat(parts);
}

/** docker-modem hands back whatever JSON.parse made of the body when it happened to be JSON. */
export function asBuffer(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  return Buffer.from(body === undefined || body === null ? '' : JSON.stringify(body));
}

/** A container's last output for a reason: trimmed, and its last `max` characters when longer. */
export function logExcerpt(text: string, max = 1_000): string {
  const t = text.trim();
  return t.length <= max ? t : `…${t.slice(t.length - max + 1).trimStart()}`;
}
