// Binding a listener: resolves with the bound address, or rejects with the bind error (address in
// use, permission) instead of leaving it to an 'error' event nobody listens to.
import type { AddressInfo, Server } from 'node:net';

export function listenOn(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
