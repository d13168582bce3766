// Just enough PromQL to check a dashboard against a scrape: the metric selectors an expression reads
// (name and the labels it matches on) and the labels each aggregation groups by, with the selectors
// inside it. Not a full parser: an unknown function or an unexpected token throws, so a dashboard
// that outgrows it fails loudly instead of passing unchecked.

export interface Selector {
  metric: string;
  labels: string[];
  /** Token index, to place it inside an aggregation. */
  at: number;
}

export interface Grouping {
  op: string;
  labels: string[];
  /** The selectors the aggregation reads. */
  selectors: Selector[];
}

export interface ParsedExpr {
  selectors: Selector[];
  groupings: Grouping[];
}

type Kind = 'ident' | 'str' | 'num' | 'range' | 'op';
interface Token {
  kind: Kind;
  text: string;
}

const AGGREGATORS = new Set(['sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'group']);
const FUNCTIONS = new Set(['rate', 'irate', 'increase', 'changes', 'histogram_quantile', 'abs', 'clamp_min', 'vector']);
const KEYWORDS = new Set(['bool', 'and', 'or', 'unless']);
const PATTERNS: Array<[Kind | null, RegExp]> = [
  [null, /^\s+/],
  ['str', /^"(?:[^"\\]|\\.)*"/],
  ['range', /^\[[^\]]*\]/],
  ['num', /^\d+(?:\.\d+)?(?:e[+-]?\d+)?/i],
  ['ident', /^[a-zA-Z_:][a-zA-Z0-9_:]*/],
  ['op', /^(?:=~|!~|!=|==|>=|<=|[{}(),=+\-*/<>^%])/],
];

export function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let rest = expr;
  for (let guard = 0; rest.length > 0; guard++) {
    if (guard > 10_000) throw new Error('expression too long');
    const hit = PATTERNS.map(([kind, re]) => ({ kind, m: re.exec(rest) })).find((p) => p.m !== null);
    if (!hit?.m) throw new Error(`cannot read "${rest.slice(0, 20)}" in ${expr}`);
    if (hit.kind !== null) out.push({ kind: hit.kind, text: hit.m[0] });
    rest = rest.slice(hit.m[0].length);
  }
  return out;
}

export function parseExpr(expr: string): ParsedExpr {
  const t = tokenize(expr);
  const selectors: Selector[] = [];
  const pending: Array<{ op: string; labels: string[]; from: number; to: number }> = [];
  for (let i = 0; i < t.length; i++) {
    const tok = t[i] as Token;
    if (tok.kind !== 'ident' || KEYWORDS.has(tok.text)) continue;
    // A trailing `by (…)`: its labels were read with the aggregation before it.
    if (tok.text === 'by') {
      i = closing(t, i + 1, expr);
      continue;
    }
    if (AGGREGATORS.has(tok.text)) {
      const g = aggregation(t, i, expr);
      pending.push(g);
      i = g.skipTo;
      continue;
    }
    if (t[i + 1]?.text === '(') {
      if (!FUNCTIONS.has(tok.text)) throw new Error(`unknown function ${tok.text} in ${expr}`);
      continue;
    }
    const m = t[i + 1]?.text === '{' ? matchers(t, i + 1, expr) : { labels: [], end: i };
    selectors.push({ metric: tok.text, labels: m.labels, at: i });
    i = m.end;
  }
  const groupings = pending.map((g) => ({
    op: g.op,
    labels: g.labels,
    selectors: selectors.filter((s) => s.at > g.from && s.at < g.to),
  }));
  return { selectors, groupings };
}

/** `op by (l…) (body)` or `op (body) by (l…)`: the labels and the body's token span. */
function aggregation(t: Token[], i: number, expr: string) {
  const op = (t[i] as Token).text;
  let j = i + 1;
  let labels: string[] = [];
  if (t[j]?.text === 'by' || t[j]?.text === 'without') {
    if (t[j]?.text === 'without') throw new Error(`without() is not checked: ${expr}`);
    const close = closing(t, j + 1, expr);
    labels = t
      .slice(j + 2, close)
      .filter((x) => x.kind === 'ident')
      .map((x) => x.text);
    j = close + 1;
  }
  const end = closing(t, j, expr);
  if (t[end + 1]?.text === 'by') {
    const close = closing(t, end + 2, expr);
    labels = t
      .slice(end + 3, close)
      .filter((x) => x.kind === 'ident')
      .map((x) => x.text);
  }
  // Selectors are found by the main loop, which resumes inside the body.
  return { op, labels, from: j, to: end, skipTo: j };
}

function closing(t: Token[], open: number, expr: string): number {
  if (t[open]?.text !== '(') throw new Error(`expected ( at token ${open} in ${expr}`);
  let depth = 0;
  for (let k = open; k < t.length; k++) {
    if (t[k]?.text === '(') depth++;
    if (t[k]?.text === ')' && --depth === 0) return k;
  }
  throw new Error(`unbalanced parentheses in ${expr}`);
}

/** The label names of `{l="v", …}` and the index of its `}`. */
function matchers(t: Token[], open: number, expr: string): { labels: string[]; end: number } {
  const labels: string[] = [];
  for (let k = open + 1; k < t.length; k += 4) {
    if (t[k]?.text === '}') return { labels, end: k };
    const [name, op, value] = [t[k], t[k + 1], t[k + 2]];
    if (name?.kind !== 'ident' || op?.kind !== 'op' || value?.kind !== 'str') throw new Error(`bad matcher in ${expr}`);
    labels.push(name.text);
    if (t[k + 3]?.text === '}') return { labels, end: k + 3 };
    if (t[k + 3]?.text !== ',') throw new Error(`expected , or } in ${expr}`);
  }
  throw new Error(`unclosed selector in ${expr}`);
}

/** Prometheus text: each sample name with the label names its samples carry. */
export function scrapeLabels(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!m?.[1]) throw new Error(`unreadable sample line: ${line}`);
    const names = out.get(m[1]) ?? new Set<string>();
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g))
      names.add(pair[1] as string);
    out.set(m[1], names);
  }
  return out;
}
