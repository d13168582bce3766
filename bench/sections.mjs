// Replaces one marked section of bench/RESULTS.md, keeping everything else as it is.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

export const RESULTS = new URL('./RESULTS.md', import.meta.url);

export function machineLine() {
  const cpus = os.cpus();
  return (
    `${cpus[0]?.model?.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
    `${os.type()} ${os.release()}, Node ${process.version}`
  );
}

export function writeSection(name, body) {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const text = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# veer benchmark results\n';
  const block = `${start}\n${body.trim()}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next =
    i !== -1 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(RESULTS, next);
}

export function table(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
