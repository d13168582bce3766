// One reload at a time, from any trigger (SIGHUP, `POST /v1/reload`, the file watcher): load and
// validate the file with the code `veer start` uses, plan what changes, and apply it without closing
// a connection. An invalid file, or a listener that cannot bind, changes nothing.
import type { ReloadReport } from '../api/ports.js';
import { isLoopbackHost } from '../config/admin-exposure.js';
import type { Config, WebhookConfig } from '../config/schema.js';
import { settledWithin } from '../domain/async.js';
import { ConfigError, err, errorMessage, ok, UnavailableError, type Result, type VeerError } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { RolloutEvent } from '../domain/rollout.js';
import { planReload } from './plan.js';

export type ReloadTrigger = 'signal' | 'api' | 'watch';

/** What a reload changes, owned here and wired in wiring/reload.ts. */
export interface ReloadParts {
  load(): Promise<Result<Config, ConfigError>>;
  /** Reads the records of services about to be added, so their first route is the right one. */
  prepare(added: readonly string[]): Promise<void>;
  /** Aborts the service's running rollout, if any, saying why (its canary is retired as any abort's). */
  abort(service: string, reason: string): Promise<void>;
  /**
   * Aborts the service's running rollout if `next` takes its pools from it, judged in the service's command
   * queue, behind any start in flight: a start that read the old config before the swap is caught after it.
   */
  abortOutdated(next: Config['services'][number], reason: string): Promise<void>;
  /** Swaps the service set in one go: data plane, routing projection, controller policies. */
  apply(services: Config['services']): void;
  rebind(listen: Config['listen']): Promise<{ address: string; port: number }>;
  setToken(token: string): void;
  setWebhooks(hooks: readonly WebhookConfig[]): Promise<void>;
  /** The access log's output, switch and sample. */
  setAccessLog(c: Config['accessLog']): Promise<void>;
  /** Certificates and TLS settings, when TLS is wired. */
  reloadTls?(config: Config): Promise<void>;
}

export interface ReloaderDeps {
  config: Config;
  parts: ReloadParts;
  log: Logger;
  emit(e: Omit<RolloutEvent, 'seq' | 'at'>): void;
}

/** A removed service's abort waits this long at most; the leader finishes it anyway. */
const ABORT_WAIT_MS = 10_000;
const REMOVED = 'the service was removed from the config';
const POOLS_MOVED = "the service's targets changed in the config: the rollout's pools are no longer routed";

export class Reloader {
  private current: Config;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: ReloaderDeps) {
    this.current = d.config;
  }

  config(): Config {
    return this.current;
  }

  reload(trigger: ReloadTrigger): Promise<Result<ReloadReport, VeerError>> {
    const run = this.queue.then(() =>
      this.once(trigger).catch((e: unknown) => {
        // The store or a listener failing mid-way: said as such, never a crash of the caller.
        const message = `config reload failed (${trigger}): ${errorMessage(e)}`;
        this.announce('error', message, { trigger });
        return err(new UnavailableError(message));
      }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async once(trigger: ReloadTrigger): Promise<Result<ReloadReport, ConfigError>> {
    const loaded = await this.d.parts.load();
    if (!loaded.ok) return this.refused(trigger, loaded.error);
    const plan = planReload(this.current, loaded.value);
    const exposed = exposedWithoutToken(plan.config);
    if (exposed) return this.refused(trigger, exposed);
    const p = this.d.parts;
    let listen: string | null = null;
    if (plan.rebind) {
      const at = plan.config.listen;
      try {
        const bound = await p.rebind(at);
        listen = `${bound.address}:${bound.port}`;
        // Moved now, whatever fails below: the next plan must not bind this address a second time.
        this.current = { ...this.current, listen: at };
      } catch (e) {
        const message = `cannot listen on ${at.host}:${at.port}: ${errorMessage(e)}`;
        return this.refused(trigger, new ConfigError(message, [{ path: 'listen', message }]));
      }
    }
    await p.prepare(plan.added);
    // Rollouts the new config no longer carries, then again after the swap: a start that raced this reload.
    const changed = plan.config.services.filter((s) => plan.changed.includes(s.name));
    const abortUnsupported = () =>
      Promise.all([
        ...plan.removed.map((s) => settledWithin(p.abort(s, REMOVED), ABORT_WAIT_MS)),
        ...changed.map((s) => settledWithin(p.abortOutdated(s, POOLS_MOVED), ABORT_WAIT_MS)),
      ]);
    await abortUnsupported();
    p.apply(plan.config.services);
    await abortUnsupported();
    if (plan.token) p.setToken(plan.config.admin.token);
    if (plan.webhooks)
      p.setWebhooks(plan.config.notifications.webhooks).catch((e: unknown) =>
        this.d.log.log('warn', 'closing the previous webhooks failed', { error: errorMessage(e) }),
      );
    if (plan.accessLog) await p.setAccessLog(plan.config.accessLog);
    await p.reloadTls?.(plan.config);
    this.current = plan.config;
    const report: ReloadReport = {
      added: plan.added,
      removed: plan.removed,
      changed: plan.changed,
      restart: plan.restart,
      listen,
      token: plan.token,
      webhooks: plan.webhooks,
    };
    const needs = plan.restart.length > 0 ? `; needs a restart: ${plan.restart.join(', ')}` : '';
    this.announce('info', `config reloaded (${trigger})${needs}`, { trigger, ...report });
    return ok(report);
  }

  private refused(trigger: ReloadTrigger, e: ConfigError): Result<ReloadReport, ConfigError> {
    this.announce('warn', `config reload refused (${trigger}), the running config stays: ${e.message}`, {
      trigger,
      problems: e.problems,
    });
    return err(e);
  }

  private announce(level: 'info' | 'warn' | 'error', message: string, data: Record<string, unknown>): void {
    this.d.log.log(level, message, data);
    this.d.emit({ service: '*', rolloutId: null, kind: 'reload', phase: null, weight: null, message, data });
  }
}

/**
 * The file was checked on its own, but the admin listener is not reloaded: a file that moves it to
 * loopback and drops the token would leave the running listener, still beyond loopback, open to anyone.
 */
function exposedWithoutToken(config: Config): ConfigError | undefined {
  const { listen, token } = config.admin;
  if (token !== '' || isLoopbackHost(listen.host)) return undefined;
  const host = listen.host === '' ? '(all interfaces)' : listen.host;
  const message =
    `required while the admin API listens on ${host}, beyond loopback: admin.listen changes only at a ` +
    'restart, so keep the token until then';
  return new ConfigError(`admin.token: ${message}`, [{ path: 'admin.token', message }]);
}
