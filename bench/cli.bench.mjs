// `npm run bench:cli`: how long a `veer` command takes from spawn to exit, as a CI pipeline runs it, against a
// running veer (memory store, one service), and a `veer start` from spawn to its "veer started" line. Each row
// also runs with NODE_DISABLE_COMPILE_CACHE=1 (src/compile-cache.ts: Node 22.1 and later keep compiled code on
// disk; Node 20 has none, so there the two rows are the same program). Each command runs ROUNDS times, interleaved
// with Node's own floor (`node -e 0`) so a slower moment of the machine touches every row alike; the figures are
// medians of wall and CPU (user + system, from bash's `time`, which counts the child) and each row's ratio to the
// floor in the same run.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median } from './median.mjs';
import { startChild, stopChild, waitForJsonLine, runBench, installExitHandlers } from './procs.mjs';
import { startVeer } from './veer.mjs';
import { machineLine, table, writeSection } from './sections.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
/** Node's major version running this bench (and the commands): each has its section in RESULTS.md. */
const MAJOR = process.versions.node.split('.')[0];
/** Run by `npm run bench:cli:lts` (the LTS Node scripts/lts-node.sh keeps in .cache/), not the machine's Node. */
const LTS = process.execPath.includes(`${path.sep}.cache${path.sep}node-`);

/** Runs `argv` under bash's `time`: wall (ms, measured here) and CPU (ms, the child's user + system). */
function timed(argv, env = {}) {
  // Through env(1): a quoted NAME=value in front of a command is not an assignment to bash.
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const quoted = [...(vars.length > 0 ? ['env', ...vars] : []), ...argv]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(' ');
  const script = `TIMEFORMAT='%U %S'; { time ${quoted} >/dev/null 2>/dev/null ; } 2>&1`;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { timeout: 30_000 }, (e, stdout) => {
      if (e) return reject(new Error(`${argv.join(' ')}: ${e.message}`));
      const [user, sys] = stdout.trim().split(/\s+/).map(Number);
      resolve({ wallMs: performance.now() - t0, cpuMs: (user + sys) * 1000 });
    });
  });
}

/** CPU ms (user + system) the process `pid` has used so far, from /proc (in clock ticks of 10 ms). */
function cpuSoFar(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A `veer start` from spawn to its "veer started" line (wall, and its CPU by then); then stopped. */
async function timedStart(argv, env) {
  const t0 = performance.now();
  const child = startChild('veer start', argv[0], argv.slice(1), { env });
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "veer started" in 30 s:\n${child.stderr}`)), 30_000);
      const seen = () => {
        if (!child.stderr.includes('"veer started"')) return;
        clearTimeout(timer);
        child.proc.stderr.off('data', seen);
        resolve();
      };
      child.proc.stderr.on('data', seen);
      child.exitPromise.then(() => reject(new Error(`veer start exited:\n${child.stderr}`)));
    });
    return { wallMs: performance.now() - t0, cpuMs: cpuSoFar(child.pid) };
  } finally {
    await stopChild(child);
  }
}

async function main() {
  installExitHandlers();
  const up = startChild('upstream', process.execPath, [path.join(ROOT, 'bench/upstream.mjs'), 'A']);
  const { port: upstream } = await waitForJsonLine(up, (l) => typeof l.port === 'number', 10_000);
  const veer = await startVeer(ROOT, { upstreamA: upstream, upstreamB: upstream });
  const cli = path.join(ROOT, 'dist/cli.js');
  const admin = ['--admin', `http://127.0.0.1:${veer.adminPort}`];
  // BENCH_CLI_BEFORE: another build's dist/cli.js, timed beside this one (a change's before and after).
  const before = process.env.BENCH_CLI_BEFORE ? path.resolve(process.env.BENCH_CLI_BEFORE) : null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'veer-bench-cli-'));
  const config = path.join(dir, 'start.yaml');
  writeFileSync(
    config,
    `listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nstate: { store: memory }\n` +
      `services:\n  - name: web\n    stable: { targets: ["127.0.0.1:${upstream}"] }\n`,
  );
  const NO_CACHE = { NODE_DISABLE_COMPILE_CACHE: '1' };
  const commands = (build, tag) =>
    [
      [`veer --version${tag}`, [process.execPath, build, '--version']],
      [`veer status bench${tag}`, [process.execPath, build, 'status', 'bench', ...admin]],
      [`veer shift bench 20${tag}`, [process.execPath, build, 'shift', 'bench', '20', ...admin]],
      [`veer start, to "veer started"${tag}`, [process.execPath, build, 'start', '-c', config], 'start'],
    ].flatMap(([name, argv, kind]) => [
      [name, argv, kind, {}],
      [`${name}, no compile cache`, argv, kind, NO_CACHE],
    ]);
  const rows = [
    ['node -e 0 (the floor)', [process.execPath, '-e', '0'], 'command', {}],
    ...commands(cli, ''),
    ...(before === null ? [] : commands(before, ' (before)')),
  ];
  const got = rows.map(() => []);
  try {
    for (let r = 0; r < ROUNDS; r++)
      for (const [i, [, argv, kind, env]] of rows.entries())
        got[i].push(await (kind === 'start' ? timedStart(argv, env) : timed(argv, env)));
  } finally {
    await veer.stop();
    await stopChild(up);
    rmSync(dir, { recursive: true, force: true });
  }
  const floor = { wall: median(got[0].map((x) => x.wallMs)), cpu: median(got[0].map((x) => x.cpuMs)) };
  const lines = rows.map(([name], i) => {
    const wall = median(got[i].map((x) => x.wallMs));
    const cpu = median(got[i].map((x) => x.cpuMs));
    return [
      name,
      wall.toFixed(0),
      cpu.toFixed(0),
      `${(wall / floor.wall).toFixed(2)}×`,
      `${(cpu / floor.cpu).toFixed(2)}×`,
    ];
  });
  const body = [
    `## CLI commands on Node ${MAJOR} (\`npm run bench:cli${LTS ? ':lts' : ''}\`)`,
    '',
    `- Run: ${new Date().toISOString()}; machine: ${machineLine()}`,
    `- Each command ${ROUNDS} times, interleaved with \`node -e 0\`; a running veer (memory store, one service) ` +
      'answers the admin calls; a start is timed to its "veer started" line, its CPU read from /proc then (10 ms ' +
      'ticks); "no compile cache": NODE_DISABLE_COMPILE_CACHE=1; medians; nothing pinned' +
      (before === null ? '' : `; "(before)": ${before}, interleaved with this build`),
    '',
    table(['command', 'wall ms', 'CPU ms', 'wall / floor', 'CPU / floor'], lines),
  ].join('\n');
  writeSection(`cli-node${MAJOR}`, body);
  console.log(body);
}

runBench(main);
