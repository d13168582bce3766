// A head's fields as llhttp hands them over, for both of veer's HTTP/1.1 parsers (the front's requests, the
// upstream client's answers): a name or a value split across two reads arrives in two calls, and every
// byte of them counts against the head's size limit, as node:http's maxHeaderSize counts it.

export class FieldList {
  /** Names as sent, name and value alternating; a new array for each head (the last one is handed on). */
  raw: string[] = [];
  /** Bytes counted so far: names, values, and whatever else the parser counts (a request's target). */
  bytes = 0;
  private inValue = true;

  constructor(private readonly limit: number) {}

  /** A new head begins. */
  reset(): void {
    this.raw = [];
    this.bytes = 0;
    this.inValue = true;
  }

  /** llhttp's return for each callback below: 0, or -1 once the head is past the limit. */
  count(n: number): number {
    this.bytes += n;
    return this.bytes <= this.limit ? 0 : -1;
  }

  /** A name, or the rest of one. */
  name(s: string): number {
    if (this.inValue) this.raw.push(s, '');
    else this.raw[this.raw.length - 2] += s;
    this.inValue = false;
    return this.count(s.length);
  }

  /** A value, or the rest of one. */
  value(s: string): number {
    this.raw[this.raw.length - 1] += s;
    this.inValue = true;
    return this.count(s.length);
  }

  get overflowed(): boolean {
    return this.bytes > this.limit;
  }
}

/**
 * An Expect field: node:http answers "100 Continue" itself or, for any other expectation, hands the request
 * to the server's own refusal (417, server.ts); rare enough to leave to it whole.
 */
export function hasExpect(raw: string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 6 && name.toLowerCase() === 'expect') return true;
  }
  return false;
}

/** node:http strips the whitespace a field value ends with; llhttp leaves it to its caller. */
export function trimmedValues(raw: string[]): string[] {
  for (let i = 1; i < raw.length; i += 2) {
    const v = raw[i] as string;
    const last = v.charCodeAt(v.length - 1);
    if (last === 32 || last === 9) raw[i] = v.replace(/[ \t]+$/, '');
  }
  return raw;
}
