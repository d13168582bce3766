// `npm run bench:cli`: how long a `veer` command takes from spawn to exit, as a CI pipeline runs it, against a running
// veer (memory store, one service). Each command runs ROUNDS times, interleaved with Node's own floor (`node -e 0`)
// so a slower moment of the machine touches every row alike; the figures are medians of wall and CPU (user + system,
// from bash's `time`, which counts the child) and each row's ratio to the floor in the same run.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { median } from './median.mjs';
import { startChild, stopChild, waitForJsonLine, runBench, installExitHandlers } from './procs.mjs';
import { startVeer } from './veer.mjs';
import { machineLine, table, writeSection } from './sections.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

/** Runs `argv` under bash's `time`: wall (ms, measured here) and CPU (ms, the child's user + system). */
function timed(argv) {
  const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
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

async function main() {
  installExitHandlers();
  const up = startChild('upstream', process.execPath, [path.join(ROOT, 'bench/upstream.mjs'), 'A']);
  const { port: upstream } = await waitForJsonLine(up, (l) => typeof l.port === 'number', 10_000);
  const veer = await startVeer(ROOT, { upstreamA: upstream, upstreamB: upstream });
  const cli = path.join(ROOT, 'dist/cli.js');
  const admin = ['--admin', `http://127.0.0.1:${veer.adminPort}`];
  // BENCH_CLI_BEFORE: another build's dist/cli.js, timed beside this one (a change's before and after).
  const before = process.env.BENCH_CLI_BEFORE ? path.resolve(process.env.BENCH_CLI_BEFORE) : null;
  const commands = (build, tag) => [
    [`veer --version${tag}`, [process.execPath, build, '--version']],
    [`veer status bench${tag}`, [process.execPath, build, 'status', 'bench', ...admin]],
    [`veer shift bench 20${tag}`, [process.execPath, build, 'shift', 'bench', '20', ...admin]],
  ];
  const rows = [
    ['node -e 0 (the floor)', [process.execPath, '-e', '0']],
    ...commands(cli, ''),
    ...(before === null ? [] : commands(before, ' (before)')),
  ];
  const got = rows.map(() => []);
  try {
    for (let r = 0; r < ROUNDS; r++) for (const [i, [, argv]] of rows.entries()) got[i].push(await timed(argv));
  } finally {
    await veer.stop();
    await stopChild(up);
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
    '## CLI commands (`npm run bench:cli`)',
    '',
    `- Run: ${new Date().toISOString()}; machine: ${machineLine()}`,
    `- Each command ${ROUNDS} times, interleaved with \`node -e 0\`; a running veer (memory store, one service) ` +
      'answers the admin calls; medians; nothing pinned' +
      (before === null ? '' : `; "(before)": ${before}, interleaved with this build`),
    '',
    table(['command', 'wall ms', 'CPU ms', 'wall / floor', 'CPU / floor'], lines),
  ].join('\n');
  writeSection('cli', body);
  console.log(body);
}

runBench(main);
