// A relay of raw connections to a unix socket (the Docker engine's) or a TCP address (veer's admin API),
// for tests that put a front of their own between a client and a server: to cut its connections, refuse
// new ones, or go away.
import net from 'node:net';

export interface SocketRelay {
  /** Use as a net server's connection listener: pipes the client to the target socket. */
  accept(client: net.Socket): void;
  /** Cuts every connection in flight (both sides). */
  cutAll(): void;
}

export function socketRelay(target: string | net.NetConnectOpts): SocketRelay {
  const sockets = new Set<net.Socket>();
  return {
    accept(client) {
      const up = typeof target === 'string' ? net.connect(target) : net.connect(target);
      for (const s of [client, up]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(up).pipe(client);
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    },
    cutAll() {
      for (const s of sockets) s.destroy();
    },
  };
}
