// What every subsystem builder gets: the config, the injected clock and logger, this replica's id,
// and the list of closers it registers its own shutdown in.
import type { AddressInfo } from 'node:net';
import type { ReloadReport } from '../api/ports.js';
import type { Result, VeerError } from '../domain/errors.js';
import type { ReloadTrigger } from '../reload/reloader.js';
import type { Config } from '../config/schema.js';
import type { DataPlane } from '../dataplane/dataplane.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../domain/log.js';
import type { Closers } from './closers.js';

export interface Base {
  config: Config;
  clock: Clock;
  log: Logger;
  self: string;
  closers: Closers;
  /** Data-plane processes (`workers` resolved here); 1: this process serves traffic itself. */
  workers: number;
}

export interface RunningVeer {
  readonly data: AddressInfo;
  readonly admin: AddressInfo;
  /** The HTTPS listener (`tls.listen`), or null without a `tls` section. */
  readonly tls: AddressInfo | null;
  readonly plane: DataPlane;
  /** SIGUSR1: every access log file output is opened again (the workers' too). */
  reopenLogs(): void;
  /** Re-reads the config file and applies it without closing a connection (invalid: nothing changes). */
  reload(trigger: ReloadTrigger): Promise<Result<ReloadReport, VeerError>>;
  /** Graceful: stop accepting, let in-flight requests finish (bounded), release everything. */
  close(): Promise<void>;
}
