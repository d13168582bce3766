// Reads proxy.config.yaml: YAML → `${VAR}` interpolation → schema validation and preflight, collecting
// every problem (syntax, unset variables, invalid fields, checks spanning fields, what `start` would
// refuse) so the operator fixes the file in one pass.
import { isScalar, LineCounter, parseDocument, type YAMLError } from 'yaml';
import { ConfigError, err, errorMessage, ok, type Problem, type Result } from '../domain/errors.js';
import { hostAddresses } from '../domain/self-address.js';
import { type Env, interpolateDocument, interpolateValue } from './interpolate.js';
import { readTextFile } from './file-text.js';
import { dedupe, preflight } from './preflight.js';
import { validateWith } from './problems.js';
import { type Config, configSchema } from './schema.js';
import { foreignTags } from './yaml-tags.js';

// Guards against alias bombs ("billion laughs") in a file that may come from anywhere. The library counts
// each use of an anchor times the aliases inside what it repeats: a bomb multiplies past any bound at once,
// while one flat policy anchored for thousands of services (its default, 100, refused the 101st) counts one per
// use.
const MAX_ALIAS_COUNT = 10_000;

export interface ConfigReport {
  result: Result<Config, ConfigError>;
  /** Valid but probably unintended (routes that can never match): printed, never fatal. */
  warnings: Problem[];
}

/** What the host looks like to the checks; tests pin it. */
export interface HostFacts {
  /** This machine's addresses and names (see hostAddresses()); default: read from the OS. */
  localAddresses?: ReadonlySet<string>;
}

export async function loadConfigFile(path: string, env: Env = process.env): Promise<Result<Config, ConfigError>> {
  return (await inspectConfigFile(path, env)).result;
}

/**
 * loadConfigFile, plus the warnings. `refuseEmpty`: a file with no YAML in it is an error rather than the
 * all-defaults config (a reload: a file caught while being rewritten must not remove every service).
 */
export async function inspectConfigFile(
  path: string,
  env: Env = process.env,
  host: HostFacts = {},
  refuseEmpty = false,
): Promise<ConfigReport> {
  const text = await readTextFile(path);
  if (!text.ok) return { result: err(new ConfigError(`cannot read config file ${path}: ${text.error}`)), warnings: [] };
  return inspectConfigText(text.value, env, path, host, refuseEmpty);
}

/** `source` (a file name) only appears in the error message. */
export function parseConfigText(text: string, env: Env, source?: string): Result<Config, ConfigError> {
  return inspectConfigText(text, env, source).result;
}

export function inspectConfigText(
  text: string,
  env: Env,
  source?: string,
  host: HostFacts = {},
  refuseEmpty = false,
): ConfigReport {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    schema: 'core',
    merge: true,
    uniqueKeys: sameKey,
  });
  if (doc.errors.length > 0) {
    return {
      result: err(
        configError(
          doc.errors.map((e) => yamlProblem(e, lines, text)),
          source,
        ),
      ),
      warnings: [],
    };
  }
  const tagged = foreignTags(doc, lines);
  if (tagged.length > 0) return { result: err(configError(tagged, source)), warnings: [] };
  const problems = interpolateDocument(doc, env);
  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    return {
      result: err(configError([...problems, { path: '', message: `YAML: ${yamlHint(errorMessage(e))}` }], source)),
      warnings: [],
    };
  }
  // Nothing in it (no text, only comments, `---`, `~` or `null`): the all-defaults config, which on a reload
  // would remove every service.
  const empty = tree === null || tree === undefined;
  if (refuseEmpty && empty) {
    const message =
      'the file is empty (no YAML in it): the running configuration stays; `services: []` removes every service';
    return { result: err(configError([{ path: '', message }], source)), warnings: [] };
  }
  const report = validate(tree, problems, source, host);
  // `veer validate` says so: the same file would be refused by a reload.
  if (empty) report.warnings.push({ path: '', message: EMPTY_WARNING });
  return report;
}

const EMPTY_WARNING =
  'the file is empty (no YAML in it): `veer start` runs on the defaults (listen 0.0.0.0:8080, no services), ' +
  'and a reload refuses it';

/** For callers that already hold a config-shaped object (tests, API overrides). */
export function parseConfigObject(obj: unknown, env: Env, host: HostFacts = {}): Result<Config, ConfigError> {
  const r = interpolateValue(obj, env);
  return validate(r.value, r.problems, undefined, host).result;
}

/** The schema's field errors and preflight's problems together: the operator fixes the file in one pass. */
function validate(
  tree: unknown,
  earlier: readonly Problem[],
  source: string | undefined,
  host: HostFacts,
): ConfigReport {
  // An empty file (or one holding only comments) parses to null: that means "all defaults".
  const r = validateWith(configSchema, tree ?? {});
  const checks = preflight(tree ?? {}, host.localAddresses ?? hostAddresses());
  // A field whose variable is unset was replaced by "": a complaint about it would only repeat the cause.
  const reported = new Set(earlier.map((p) => p.path));
  const later = dedupe([...(r.ok ? [] : r.error), ...checks.problems]).filter((p) => !reported.has(p.path));
  const problems = [...earlier, ...later];
  if (problems.length > 0 || !r.ok) return { result: err(configError(problems, source)), warnings: checks.warnings };
  return { result: ok(r.value), warnings: checks.warnings };
}

function configError(problems: readonly Problem[], source?: string): ConfigError {
  const where = source ? ` in ${source}` : '';
  const list = problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
  return new ConfigError(`invalid configuration${where}: ${list}`, problems);
}

/** YAML's own words, with what an operator most likely meant. */
/**
 * Keys are compared as the text they become: `502` and `"502"` (an error page's status, say) are one key in
 * the config, and the library's own comparison (by type too) let the last one win silently.
 */
function sameKey(a: unknown, b: unknown): boolean {
  return a === b || (isScalar(a) && isScalar(b) && String(a.value) === String(b.value));
}

function yamlHint(message: string): string {
  // `hosts: [*.example.com]`: an unquoted value starting with `*` is an alias in YAML.
  if (message.startsWith('Unresolved alias'))
    return `${message} (hint: quote a value that starts with "*", e.g. "*.example.com")`;
  // The parser recursing through thousands of nested [ or {: said as what it is, not as the engine's limit.
  if (message.includes('Maximum call stack')) return 'the document nests too deeply';
  if (message.startsWith('Excessive alias count'))
    return (
      `aliases (*name) repeat anchored values more than ${MAX_ALIAS_COUNT} times, counting the aliases inside ` +
      'what each one repeats (a guard against alias bombs)'
    );
  return message;
}

function yamlProblem(e: YAMLError, lines: LineCounter, text: string): Problem {
  const { line, col } = lines.linePos(e.pos[0]);
  const message =
    e.code === 'MULTIPLE_DOCS'
      ? 'a config file holds a single YAML document (found another "---")'
      : yamlHint(e.message.replace(/\s*\n[\s\S]*$/, ''));
  const lineText = text.split(/\r?\n/)[line - 1] ?? '';
  // `${…}` is not a valid plain scalar inside [ ] or { } (YAML reserves the braces there).
  const hint = lineText.includes('${')
    ? ' (hint: ${…} cannot appear unquoted inside [ ] or { }: use block style, or quotes for a string value)'
    : '';
  return { path: '', message: `YAML syntax error at line ${line}, column ${col}: ${message}${hint}` };
}
