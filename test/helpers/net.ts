/** Loopback helpers shared by tests that start real servers. */
import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = s.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
