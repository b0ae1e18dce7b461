/**
 * Real servers for the fleet tests and bench: mosquitto (Debian package,
 * /usr/sbin/mosquitto) and s3rver (npm, an S3 REST server) as child
 * processes on free loopback ports, each stoppable and restartable on the
 * same port with the same data (persistence on), so outages can be staged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import { freePort } from '../helpers/net.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const hasMosquitto = existsSync(MOSQUITTO);

export { freePort };

async function waitForPort(port: number, proc: ChildProcess, what: string, out: () => string): Promise<void> {
  const end = Date.now() + 20000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}: ${out()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`${what} did not listen on ${port}: ${out()}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

export interface ServerProcess {
  port: number;
  url: string;
  proc: () => ChildProcess | undefined;
  /** Start (again) on the same port with the same data. */
  start(): Promise<void>;
  /** SIGTERM (mosquitto then saves its persistence file) and wait for exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function managed(what: string, port: number, url: string, argv: () => [string, string[]]): ServerProcess {
  let child: ChildProcess | undefined;
  let out = '';
  return {
    port,
    url,
    proc: () => child,
    async start() {
      const [cmd, args] = argv();
      out = '';
      child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
      child.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4000)));
      child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4000)));
      await waitForPort(port, child, what, () => out);
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill(signal);
      await once(c, 'exit');
    },
  };
}

/** mosquitto on a free port, anonymous, persistence in `dir`, roomy queues for shared-subscription consumers. */
export async function startMosquitto(dir: string, opts: { port?: number; maxInflight?: number } = {}): Promise<ServerProcess> {
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      // Started as root, mosquitto would switch to user 'mosquitto' and fail to write its persistence file here.
      `user ${userInfo().username}`,
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 1',
      'max_queued_messages 1000000',
      'max_queued_bytes 0',
      `max_inflight_messages ${opts.maxInflight ?? 64}`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const s = managed('mosquitto', port, `mqtt://127.0.0.1:${port}`, () => [MOSQUITTO, ['-c', conf]]);
  await s.start();
  return s;
}

/** s3rver (S3 REST on loopback) with the buckets configured, data in `dir`. */
export async function startS3rver(dir: string, buckets: string[], opts: { port?: number } = {}): Promise<ServerProcess> {
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const bin = join(PROJECT_ROOT, 'node_modules', 's3rver', 'bin', 's3rver.js');
  const s = managed('s3rver', port, `http://127.0.0.1:${port}`, () => [
    process.execPath,
    [bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '-s', ...buckets.flatMap((b) => ['--configure-bucket', b])],
  ]);
  await s.start();
  return s;
}

/** Static credentials s3rver accepts (it checks signatures against S3RVER/S3RVER). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
