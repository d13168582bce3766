// What every subsystem builder gets: the config, the injected clock and logger, this replica's id,
// and the list of closers it registers its own shutdown in.
import type { AddressInfo } from 'node:net';
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
}

export interface RunningVeer {
  readonly data: AddressInfo;
  readonly admin: AddressInfo;
  /** The HTTPS listener (`tls.listen`), or null without a `tls` section. */
  readonly tls: AddressInfo | null;
  readonly plane: DataPlane;
  /** Graceful: stop accepting, let in-flight requests finish (bounded), release everything. */
  close(): Promise<void>;
}
