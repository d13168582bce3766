// Explicit YAML tags in a config file. The parser knows YAML 1.1's types too: `admin: !!omap [...]` became an
// empty mapping (the admin section's defaults, silently), `!!binary` a Buffer whose fields were then reported
// as a hundred unknown keys, `!!timestamp` a date. A config holds strings, numbers, booleans, lists and
// mappings, so those tags (and a custom `!tag`) are refused where they stand; the core schema's own pass.
import { type Document, type LineCounter, visit } from 'yaml';
import type { Problem } from '../domain/errors.js';

const CORE = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

/** One problem per tag outside the core schema, with its line and column. */
export function foreignTags(doc: Document, lines: LineCounter): Problem[] {
  const out: Problem[] = [];
  visit(doc, {
    Node(_key, node) {
      if (node.tag === undefined || CORE.has(node.tag)) return;
      const { line, col } = lines.linePos(node.range?.[0] ?? 0);
      const tag = node.tag.replace('tag:yaml.org,2002:', '!!');
      out.push({
        path: '',
        message:
          `YAML tag ${tag} (on the value at line ${line}, column ${col}) is not taken: ` +
          'a config holds strings, numbers, booleans, lists and mappings',
      });
    },
  });
  return out;
}
