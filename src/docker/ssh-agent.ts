// The connection to a Docker engine over ssh, as `ssh` users expect it: one persistent SSH session
// per endpoint carries every API call (each call is a channel running `docker system dial-stdio`,
// what the docker CLI does), the host key is verified before anything is sent, and a session that
// drops is opened again with backoff. docker-modem's own ssh support logs in once per API call and
// never checks the host key; this agent replaces it, plugged in as the http.Agent of plain HTTP.
import { Agent } from 'node:http';
import type { Duplex } from 'node:stream';
import type ssh2 from 'ssh2';
import { lazyPackage } from '../lazy-package.js';
import type { HostKeyCheck } from './known-hosts.js';

const ssh2Package = lazyPackage<typeof ssh2>('ssh2');

export interface SshTarget {
  /** The endpoint's name (in errors). */
  name: string;
  host: string;
  port: number;
  username: string;
  privateKey?: Buffer | undefined;
  /** An ssh-agent socket (SSH_AUTH_SOCK). */
  agent?: string | undefined;
  /** Decides on the key the server presents (known_hosts or a fingerprint). */
  verify(keyBlob: Buffer): HostKeyCheck;
}

/** Backoff after a failed login: doubles from this, up to MAX. */
const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 10_000;
/** Bounds one login; keepalives notice a dead peer within about 30 s. */
const READY_TIMEOUT_MS = 15_000;
const KEEPALIVE_MS = 10_000;

type Callback = (err: Error | null, stream?: Duplex) => void;

export class SshDockerAgent extends Agent {
  private session: ssh2.Client | null = null;
  private opening: Promise<ssh2.Client> | null = null;
  private failures = 0;
  private retryAt = 0;
  private lastError: Error | null = null;
  private closed = false;

  constructor(
    readonly target: SshTarget,
    private readonly now: () => number = Date.now,
  ) {
    super({ keepAlive: false });
  }

  /** How many SSH logins succeeded (one while the session holds). */
  logins = 0;

  override createConnection(_options: unknown, callback: Callback): undefined {
    this.channel(callback, 1);
    return undefined;
  }

  /**
   * A channel on the session. The session's socket can be gone before ssh2 says so ('close' comes later):
   * its exec() then throws "Not connected" instead of calling back, which inside a promise's callback was an
   * unhandled rejection, and that ends the process. Such a session is dropped and opened again, once.
   */
  private channel(callback: Callback, retries: number): void {
    const unreachable = (e: unknown): Error =>
      new Error(`ssh ${this.target.name}: cannot reach the Docker engine: ${e instanceof Error ? e.message : e}`);
    this.open().then(
      (session) => {
        try {
          session.exec('docker system dial-stdio', (err, channel) => {
            if (err) callback(unreachable(err));
            else callback(null, channel);
          });
        } catch (e) {
          if (this.session === session) this.session = null;
          if (retries > 0) this.channel(callback, retries - 1);
          else callback(unreachable(e));
        }
      },
      (e: unknown) => callback(e instanceof Error ? e : new Error(String(e))),
    );
  }

  /** `ssh://user@host:port`, for messages. */
  address(): string {
    const t = this.target;
    return `ssh://${t.username}@${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
  }

  /** Ends the session (veer is stopping, or the endpoint is dropped). */
  override destroy(): void {
    this.closed = true;
    this.session?.end();
    this.session = null;
    super.destroy();
  }

  private open(): Promise<ssh2.Client> {
    if (this.closed) return Promise.reject(new Error(`ssh ${this.target.name}: closed`));
    if (this.session) return Promise.resolve(this.session);
    if (this.opening) return this.opening;
    const wait = this.retryAt - this.now();
    if (wait > 0 && this.lastError)
      return Promise.reject(new Error(`${this.lastError.message} (next attempt in ${Math.ceil(wait / 100) / 10} s)`));
    this.opening = this.login().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private login(): Promise<ssh2.Client> {
    const t = this.target;
    return new Promise((resolve, reject) => {
      const c = new (ssh2Package().Client)();
      let refused: string | null = null;
      c.once('ready', () => {
        this.session = c;
        this.failures = 0;
        this.logins++;
        resolve(c);
      });
      c.on('error', (e) => {
        const err = new Error(`ssh ${t.name} (${t.host}:${t.port}): ${refused ?? e.message}`);
        if (this.session === c) this.session = null;
        else this.failed(err, reject);
      });
      c.once('close', () => {
        if (this.session === c) this.session = null;
      });
      c.connect({
        host: t.host,
        port: t.port,
        username: t.username,
        ...(t.privateKey ? { privateKey: t.privateKey } : {}),
        ...(t.agent ? { agent: t.agent } : {}),
        readyTimeout: READY_TIMEOUT_MS,
        keepaliveInterval: KEEPALIVE_MS,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          const r = t.verify(key);
          if (!r.ok) refused = r.reason;
          return r.ok;
        },
      });
    });
  }

  private failed(err: Error, reject: (e: Error) => void): void {
    this.failures++;
    this.lastError = err;
    this.retryAt = this.now() + Math.min(FIRST_BACKOFF_MS * 2 ** (this.failures - 1), MAX_BACKOFF_MS);
    reject(err);
  }
}
