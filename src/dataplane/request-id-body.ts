// The request id in veer's own error bodies: `requestId` beside the code and message of the JSON body,
// a line under the message of a built-in HTML page. An id is from the safe set (request-id.ts), so it
// needs no escaping in either.
const JSON_END = '}}';
const HTML_END = '</body>';

/** `{"error":{"code","message"}}` → `{"error":{"code","message","requestId"}}`. */
export function jsonWithId(body: Buffer, id: string): Buffer {
  const text = body.toString();
  if (!text.endsWith(JSON_END)) return body;
  return Buffer.from(`${text.slice(0, -JSON_END.length)},"requestId":"${id}"${JSON_END}`);
}

export function htmlWithId(page: Buffer, id: string): Buffer {
  const text = page.toString();
  const at = text.lastIndexOf(HTML_END);
  if (at < 0) return page;
  return Buffer.from(`${text.slice(0, at)}<p>Request ID: <code>${id}</code></p>${text.slice(at)}`);
}
