// `npm run limits`: enforces the project's size rules and prints each violation as `path:line: what`.
//   - no file under src/ longer than 250 lines;
//   - no function in src/ longer than 60 lines (declarations, methods, constructors, accessors, arrow
//     functions and function expressions; a nested function counts on its own and inside its parent);
//   - no line longer than 120 characters in src/**/*.ts, test/**/*.ts, bench/**/*.mjs, scripts/**/*.mjs.
// Exits 1 if anything is reported, 0 otherwise. The check functions are exported for the unit test.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export const MAX_FILE_LINES = 250;
export const MAX_FUNCTION_LINES = 60;
export const MAX_LINE_CHARS = 120;

/** Which files each rule looks at: [directory, file suffix], relative to the repository root. */
const SOURCE = [['src', '.ts']];
const WIDTH = [
  ['src', '.ts'],
  ['test', '.ts'],
  ['bench', '.mjs'],
  ['scripts', '.mjs'],
];

/** The text's lines; a final newline does not start another line. */
function splitLines(text) {
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Files longer than `max` lines: one violation at the first line past the limit. */
export function checkFileLength(path, text, max = MAX_FILE_LINES) {
  const count = text === '' ? 0 : splitLines(text).length;
  if (count <= max) return [];
  return [{ rule: 'file', path, line: max + 1, message: `file is ${count} lines (max ${max})` }];
}

/** Lines longer than `max` characters (counted in code points, not UTF-16 units). */
export function checkLineWidth(path, text, max = MAX_LINE_CHARS) {
  const out = [];
  splitLines(text).forEach((line, i) => {
    const width = [...line].length;
    if (width > max) out.push({ rule: 'line', path, line: i + 1, message: `line is ${width} characters (max ${max})` });
  });
  return out;
}

function isMeasuredFunction(node) {
  switch (node.kind) {
    case ts.SyntaxKind.FunctionDeclaration:
    case ts.SyntaxKind.MethodDeclaration:
    case ts.SyntaxKind.Constructor:
    case ts.SyntaxKind.GetAccessor:
    case ts.SyntaxKind.SetAccessor:
    case ts.SyntaxKind.ArrowFunction:
    case ts.SyntaxKind.FunctionExpression:
      return node.body !== undefined; // overload signatures and abstract members have no body
    default:
      return false;
  }
}

function nameText(name, sf) {
  if (!name) return undefined;
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name)) return name.text;
  return name.getText(sf);
}

/** A readable name for a function: its own, or the variable / property / argument it is bound to. */
function functionName(node, sf) {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (ts.isGetAccessorDeclaration(node)) return `get ${nameText(node.name, sf)}`;
  if (ts.isSetAccessorDeclaration(node)) return `set ${nameText(node.name, sf)}`;
  const own = nameText(node.name, sf);
  if (own) return own;
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent))) {
    return nameText(parent.name, sf) ?? '<anonymous>';
  }
  if (parent && ts.isPropertyDeclaration(parent)) return nameText(parent.name, sf) ?? '<anonymous>';
  if (parent && ts.isCallExpression(parent)) return `<callback to ${parent.expression.getText(sf)}>`;
  return '<anonymous>';
}

function scriptKindOf(path) {
  if (/\.[cm]?tsx?$/.test(path)) return path.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  return ts.ScriptKind.JS;
}

/** Functions longer than `max` lines, from the line the function starts on to the line its body ends on. */
export function checkFunctions(path, text, max = MAX_FUNCTION_LINES) {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, scriptKindOf(path));
  const out = [];
  const visit = (node) => {
    if (isMeasuredFunction(node)) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      const length = end - start + 1;
      if (length > max) {
        const message = `function '${functionName(node, sf)}' is ${length} lines (max ${max})`;
        out.push({ rule: 'function', path, line: start, message });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every file under `dir` (recursively) whose name ends with `suffix`, skipping node_modules. */
function listFiles(dir, suffix) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out = [];
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') out.push(...listFiles(full, suffix));
    else if (entry.isFile() && entry.name.endsWith(suffix)) out.push(full);
  }
  return out;
}

/** All violations in the tree rooted at `root`, sorted by path and line; paths are relative with `/`. */
export function checkTree(root) {
  const rel = (file) => relative(root, file).split(sep).join('/');
  const read = (file) => readFileSync(file, 'utf8');
  const out = [];
  const files = new Set();
  for (const [dir, suffix] of SOURCE) {
    for (const file of listFiles(join(root, dir), suffix)) {
      const text = read(file);
      files.add(file);
      out.push(...checkFileLength(rel(file), text), ...checkFunctions(rel(file), text));
    }
  }
  for (const [dir, suffix] of WIDTH) {
    for (const file of listFiles(join(root, dir), suffix)) {
      files.add(file);
      out.push(...checkLineWidth(rel(file), read(file)));
    }
  }
  out.sort((a, b) => (a.path === b.path ? a.line - b.line : a.path < b.path ? -1 : 1));
  return { violations: out, files: files.size };
}

export function formatViolation(v) {
  return `${v.path}:${v.line}: ${v.message}`;
}

function main() {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const { violations, files } = checkTree(root);
  for (const v of violations) console.log(formatViolation(v));
  if (violations.length === 0) {
    console.log(`limits: ok, ${files} files checked`);
    return 0;
  }
  const count = (rule) => violations.filter((v) => v.rule === rule).length;
  console.log(
    `limits: ${violations.length} violations in ${files} files checked ` +
      `(files > ${MAX_FILE_LINES} lines: ${count('file')}, functions > ${MAX_FUNCTION_LINES} lines: ` +
      `${count('function')}, lines > ${MAX_LINE_CHARS} chars: ${count('line')})`,
  );
  return 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
