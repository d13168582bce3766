// The maintenance switch as an operator's command: any replica writes `maintenance/<service>`
// (compare-and-set, retried a bounded number of times), and every replica's projection applies it,
// so it reaches every replica and survives restarts.
import { ConflictError, err, NotFoundError, ok, type Result } from '../domain/errors.js';
import type { Maintenance, MaintenanceMode } from '../domain/maintenance.js';
import type { Records } from './records.js';
import type { Emit } from './transitions.js';

export interface MaintenanceRequest {
  on: boolean;
  mode: MaintenanceMode;
  retryAfterMs: number | null;
}

export interface MaintenanceDeps {
  records: Pick<Records, 'maintenance' | 'versionOf' | 'write'>;
  now(): number;
  known(service: string): boolean;
  emit: Emit;
}

/** Writers racing each other: a few rounds settle it; more mean something is wrong. */
const MAX_ATTEMPTS = 5;

const OFF: Omit<Maintenance, 'since'> = { on: false, mode: 'hold', retryAfterMs: null };

export class MaintenanceSwitch {
  constructor(private readonly d: MaintenanceDeps) {}

  get(service: string): Result<Maintenance> {
    if (!this.d.known(service)) return err(new NotFoundError('service', service));
    return ok(this.d.records.maintenance(service) ?? { ...OFF, since: new Date(0).toISOString() });
  }

  async set(service: string, req: MaintenanceRequest): Promise<Result<Maintenance>> {
    if (!this.d.known(service)) return err(new NotFoundError('service', service));
    const value: Maintenance = { ...req, since: new Date(this.d.now()).toISOString() };
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const version = await this.d.records.versionOf(service, 'maintenance');
      if (!(await this.d.records.write(service, 'maintenance', value, version, null)).ok) continue;
      const what = req.on ? `maintenance on (${req.mode})` : 'maintenance off';
      this.d.emit({ service, rolloutId: null, kind: 'maintenance', phase: null, weight: null, message: what });
      return ok(value);
    }
    return err(new ConflictError(`the maintenance switch of '${service}' kept changing; try again`));
  }
}
