// nginx as a reference proxy: one worker, weighted upstream with a keep-alive pool, run in the
// foreground from a private prefix dir so it touches nothing of the system's nginx.
import { existsSync, mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startChild, stopChild, onCleanup, tail } from './procs.mjs';
import { HOST, freePort, pollUntil } from './net.mjs';

/** The nginx binary, or null when it is not installed. */
export function findNginx() {
  const onPath = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  return existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null;
}

export function nginxVersion(bin) {
  if (!bin) return 'nginx not installed';
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return (r.stderr || r.stdout).trim().replace(/^nginx version:\s*/, '') || 'nginx (unknown version)';
}

function nginxConf(dir, port, upstreamA, upstreamB, tls, workers = 1) {
  const p = (name) => path.join(dir, name);
  return `worker_processes ${workers};
daemon off;
master_process on;
pid ${p('nginx.pid')};
error_log ${p('error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${p('client_body')};
  proxy_temp_path ${p('proxy')};
  fastcgi_temp_path ${p('fastcgi')};
  uwsgi_temp_path ${p('uwsgi')};
  scgi_temp_path ${p('scgi')};
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  upstream bench {
    server ${HOST}:${upstreamA} weight=9;
    server ${HOST}:${upstreamB} weight=1;
    keepalive 64;
    keepalive_requests 1000000;
    # Below the upstreams' own 10 s keep-alive, so nginx never reuses a socket being closed.
    keepalive_timeout 5s;
  }
  server {
    listen ${HOST}:${port};${tls ? tlsListen(tls) : ''}
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** The same server on a TLS port too (h2 by ALPN, TLS 1.2+), as veer is configured in bench/tls.bench.mjs. */
function tlsListen({ port, cert, key }) {
  return `
    listen ${HOST}:${port} ssl http2;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;`;
}

/**
 * nginx as a bench upstream: one worker answering every request 200 with the same ~100-byte body as upstream.mjs.
 * `framing` 'chunked': the same body without a length, in chunked coding (a body filter that never matches drops
 * the length, as dynamic backends that stream their answers send them).
 */
function originConf(dir, port, name, framing) {
  const body = JSON.stringify({ upstream: name, ok: true, pad: 'x'.repeat(64) }).padEnd(100, ' ');
  const chunked =
    framing === 'chunked'
      ? `
      sub_filter_types application/json;
      sub_filter 'never-in-the-body' '';`
      : '';
  return nginxConf(dir, port, 0, 0, null).replace(
    /  upstream bench \{[\s\S]*\n  \}\n  server \{[\s\S]*\n  \}\n\}\n$/,
    `  server {
    listen ${HOST}:${port};
    location / {
      default_type application/json;${chunked}
      return 200 '${body}';
    }
  }
}
`,
  );
}

/**
 * An upstream served by nginx (it answers far faster than a Node server, so the load CPU's ceiling is set
 * by the load generator, not the upstream). Resolves with { port, stop() } like startNginx.
 */
export async function startNginxOrigin(bin, { name, cpu, framing = 'length' }) {
  return launch(bin, cpu, (dir, port) => originConf(dir, port, name, framing), `nginx upstream ${name}`);
}

/**
 * Start nginx pinned to `cpu`; resolves with { port, pid, stop() }. `tls: { port, cert, key }` adds an
 * HTTPS listener (bench/tls.bench.mjs); `workers`: worker processes (1).
 */
export async function startNginx(bin, { upstreamA, upstreamB, cpu, tls, workers }) {
  return launch(bin, cpu, (dir, port) => nginxConf(dir, port, upstreamA, upstreamB, tls, workers), 'nginx');
}

async function launch(bin, cpu, confOf, name) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'veer-bench-nginx-'));
  // Workers drop to an unprivileged user when we are root; they must be able to enter the prefix.
  chmodSync(dir, 0o755);
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, confOf(dir, port));
  const child = startChild(name, bin, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], { cpu });
  const ready = await pollUntil(port, '/', (s) => s === 200, {
    attempts: 100,
    intervalMs: 100,
    alive: () => !child.exited,
  });
  if (!ready.ok) {
    await stopChild(child);
    throw new Error(`${name} did not become ready (${ready.reason}, last status ${ready.last})\n${tail(child)}`);
  }
  return {
    port,
    pid: child.pid,
    stop: async () => {
      // SIGTERM is nginx's fast stop; the master (our pid) takes its worker down with it.
      const exit = await stopChild(child, 10_000);
      rmSync(dir, { recursive: true, force: true });
      return exit;
    },
  };
}
