import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface ListenOptions {
  host: string;
  port: number;
}

/**
 * Starts an HTTP server. `keepAliveTimeout` sits above common load-balancer idle timeouts (60 s) so the
 * balancer, not us, closes idle keep-alive connections and no request races a server-side close.
 */
export async function listen(
  handler: RequestListener | http.Server,
  { host, port }: ListenOptions,
): Promise<http.Server> {
  const server = handler instanceof http.Server ? handler : http.createServer(handler);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export function serverUrl(server: http.Server, protocol = 'http'): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${protocol}://${host}:${address.port}`;
}

/** Stops accepting, lets in-flight requests finish, then closes idle keep-alive sockets. */
export async function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  server.closeIdleConnections();
  await closed;
}
