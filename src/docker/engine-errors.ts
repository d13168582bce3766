// The one place dockerode/docker-modem failures become veer errors. Every message names the endpoint,
// because with several engines "no such container" alone does not say where to look.
import type Docker from 'dockerode';
import { SshDockerAgent } from './ssh-agent.js';
import { VeerError, errorMessage } from '../domain/errors.js';

/** A Docker engine refused or failed an operation. `status` is the engine's HTTP status, if it answered. */
export class DockerError extends VeerError {
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined, code = 'docker_error', httpStatus = 502) {
    super(code, httpStatus, message);
    this.status = status;
  }
}

/** The engine's HTTP status, when the failure came from an answer (not from the connection). */
export function statusOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null || !('statusCode' in e)) return undefined;
  const code = Number((e as { statusCode: unknown }).statusCode);
  return Number.isInteger(code) ? code : undefined;
}

/** What the engine said (its JSON `message`), else the error's own message. */
export function engineMessage(e: unknown): string {
  if (typeof e === 'object' && e !== null) {
    const json = (e as { json?: unknown }).json;
    if (typeof json === 'object' && json !== null && typeof (json as { message?: unknown }).message === 'string') {
      return (json as { message: string }).message.trim();
    }
    if (typeof json === 'string' && json.trim() !== '') return json.trim();
  }
  const message = errorMessage(e).trim();
  // docker-modem's own wrapping, "(HTTP code 500) server error - <what the engine said>", when the
  // engine's answer was a stream and so never landed in `json`.
  return /^\(HTTP code \d+\) [^-]*- ([\s\S]+)$/.exec(message)?.[1]?.trim() ?? message;
}

export function isNotFound(e: unknown): boolean {
  return statusOf(e) === 404;
}

/** The engine is already removing the container (AutoRemove after it stopped). */
export const beingRemoved = (e: unknown): boolean =>
  statusOf(e) !== undefined && /marked for removal|removal .*(already )?in progress/i.test(engineMessage(e));

/**
 * Engine 20.10 answers 500 "container not running" to an update that races the container's own
 * stop (a concurrent retire, AutoRemove). It is being removed next anyway, so the policy no longer
 * matters.
 */
export const stoppedUnderUs = (e: unknown): boolean =>
  statusOf(e) !== undefined && /container not running|is not running/i.test(engineMessage(e));

/** A connection-level failure (no HTTP answer at all): refused, missing socket, DNS, TLS, reset. */
export function isConnectionError(e: unknown): boolean {
  if (statusOf(e) !== undefined || typeof e !== 'object' || e === null) return false;
  const { code, level } = e as { code?: unknown; level?: unknown };
  // ssh2 marks its own failures with `level` (client-socket, client-authentication, …).
  if (typeof level === 'string' && level.startsWith('client-')) return true;
  if (typeof code !== 'string') return false;
  // Node's own ERR_* codes are mostly about the request veer built (ERR_UNESCAPED_CHARACTERS for an
  // image name with a space): the engine was never asked, so it is not unreachable. Only the TLS ones
  // and a connect timeout or closed socket are about the connection.
  const tls = code.includes('CERT') || code.includes('SIGNATURE');
  if (code.startsWith('ERR_')) return tls || /^ERR_(SSL_|TLS_|SOCKET_CONNECTION_TIMEOUT$|SOCKET_CLOSED$)/.test(code);
  return tls || /^E[A-Z_]+$/.test(code);
}

/** How the endpoint is addressed, for messages ("unix:///var/run/docker.sock", "tcp://h:2376"). */
export function describeAddress(options: Docker.DockerOptions & { agent?: unknown }): string {
  if (options.socketPath !== undefined) return `unix://${options.socketPath}`;
  if (options.agent instanceof SshDockerAgent) return options.agent.address();
  const user = options.username ? `${options.username}@` : '';
  const scheme = options.protocol === 'ssh' ? 'ssh' : 'tcp';
  const host = options.host?.includes(':') ? `[${options.host}]` : (options.host ?? '?');
  return `${scheme}://${user}${host}${options.port === undefined ? '' : `:${options.port}`}`;
}

const lowerFirst = (s: string): string => (s === '' ? s : s[0]!.toLowerCase() + s.slice(1));

/** Maps errors of one endpoint; `what` says which operation failed ("start container 0a1b…"). */
export class EngineErrors {
  constructor(
    private readonly endpoint: string,
    private readonly address: string,
  ) {}

  unreachable(e: unknown): DockerError {
    return new DockerError(
      `docker endpoint "${this.endpoint}" (${this.address}) is unreachable: ${errorMessage(e)}`,
      undefined,
      'docker_unreachable',
      503,
    );
  }

  map(e: unknown, what: string): DockerError {
    if (e instanceof DockerError) return e;
    if (isConnectionError(e)) return this.unreachable(e);
    const status = statusOf(e);
    const said = lowerFirst(engineMessage(e));
    const tail = status === undefined ? '' : ` (HTTP ${status})`;
    return new DockerError(`docker endpoint "${this.endpoint}": ${what}: ${said}${tail}`, status);
  }

  /** For messages that need no engine answer, e.g. `no such container abc123`. */
  plain(message: string, status?: number): DockerError {
    return new DockerError(`docker endpoint "${this.endpoint}": ${message}`, status);
  }

  timeout(what: string, ms: number): DockerError {
    return new DockerError(
      `docker endpoint "${this.endpoint}" (${this.address}): ${what} timed out after ${ms} ms`,
      undefined,
      'docker_timeout',
      504,
    );
  }
}
