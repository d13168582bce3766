// The refusal to expose an unauthenticated admin API beyond loopback: anyone who reaches it can
// move production traffic.
import { ConfigError, err, ok, type Result } from '../domain/errors.js';
import { isLoopbackIp } from '../domain/loopback.js';

/** A listen host that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === 'localhost' || isLoopbackIp(h);
}

export function checkAdminExposure(listenHost: string, token: string): Result<void> {
  if (token !== '' || isLoopbackHost(listenHost)) return ok(undefined);
  const shown = listenHost === '' ? '(all interfaces)' : listenHost;
  return err(
    new ConfigError(
      `admin API listens on ${shown}, beyond loopback, without a token: ` +
        'set admin.token (e.g. token: "${VEER_ADMIN_TOKEN}") or listen on 127.0.0.1',
      [
        {
          path: 'admin.token',
          message:
            `required when admin.listen is not a loopback address (got host "${shown}"): ` +
            'set a token or listen on 127.0.0.1',
        },
      ],
    ),
  );
}
