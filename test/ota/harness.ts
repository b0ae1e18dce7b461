// Test harness for the deployment scripts: a unit laid out under a temporary
// root prefix, synthetic releases, and a real node HTTP process standing in
// for the systemd service (started and stopped by the --restart-cmd script).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/net.js';
export { freePort };

export const REPO = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const SCRIPTS = join(REPO, 'scripts');
export const OTA = join(SCRIPTS, 'ota-update.sh');
export const PACKAGE = join(SCRIPTS, 'package.sh');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (async, so servers in this process keep serving). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `bestshot-${prefix}-`));
}

/** An Ed25519 key pair made by openssl, as PEM files. */
export function makeKeys(dir: string, name = 'ota'): { key: string; pub: string } {
  const key = join(dir, `${name}-key.pem`);
  const pub = join(dir, `${name}-pubkey.pem`);
  const a = spawnSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
  const b = spawnSync('openssl', ['pkey', '-in', key, '-pubout', '-out', pub]);
  if (a.status !== 0 || b.status !== 0) throw new Error(`openssl failed: ${a.stderr}${b.stderr}`);
  return { key, pub };
}

export interface AppOptions {
  /** `check-config` exits 1 (the self-check fails). */
  selfcheckFails?: boolean;
  /** `/healthz` answers 503. */
  unhealthy?: boolean;
  /** `run` exits at once with status 1. */
  crashes?: boolean;
}

/**
 * A synthetic release tree: bin/bestshot speaks the two subcommands the
 * scripts rely on (`check-config [--quiet] --config FILE`, `run`); `run` serves
 * /healthz with the release's version on PORT from the environment.
 */
export function makeApp(dir: string, version: string, opts: AppOptions = {}): string {
  const app = join(dir, `app-${version}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(join(app, 'bin'), { recursive: true });
  mkdirSync(join(app, 'lib'), { recursive: true });
  writeFileSync(join(app, 'VERSION'), `${version}\n`);
  writeFileSync(join(app, 'lib', 'app.txt'), `payload of ${version}\n`);
  const launcher = [
    '#!/usr/bin/env bash',
    'here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)',
    'case ${1-} in',
    '  check-config)',
    opts.selfcheckFails
      ? '    echo "config: cameras[0].source: unknown key" >&2; exit 1 ;;'
      : [
          '    shift; cfg=""; json=0',
          '    while (($#)); do case $1 in --config) cfg=${2-}; shift 2 ;; --quiet | --load-model | --no-model-check) shift ;; --json) json=1; shift ;; *) echo "bad argument $1" >&2; exit 2 ;; esac; done',
          '    [[ -f $cfg ]] || { echo "no config" >&2; exit 1; }',
          // The metrics section as the real check-config prints it (defaults filled in).
          '    if ((json)); then',
          '      enabled=true; grep -q "enabled: false" "$cfg" && enabled=false',
          '      port=$(sed -n "s/.*port: *\\([0-9]*\\).*/\\1/p" "$cfg" | head -n 1)',
          '      printf \'{\\n  "metrics": {\\n    "enabled": %s,\\n    "port": %s,\\n    "host": "127.0.0.1"\\n  }\\n}\\n\' "$enabled" "${port:-9464}"',
          '    fi',
          '    exit 0 ;;',
        ].join('\n'),
    '  run)',
    opts.crashes
      ? '    echo "crash on start" >&2; exit 1 ;;'
      : // As the runtime does: no /healthz with the metrics server turned off.
        '    [[ ${2-} == --config && -f ${3-} ]] && grep -q "enabled: false" "$3" && exec sleep 3600\n    exec node "$here/lib/server.mjs" ;;',
    '  *) echo "usage: bestshot check-config|run" >&2; exit 2 ;;',
    'esac',
    '',
  ].join('\n');
  writeFileSync(join(app, 'bin', 'bestshot'), launcher);
  chmodSync(join(app, 'bin', 'bestshot'), 0o755);
  const status = opts.unhealthy ? 503 : 200;
  writeFileSync(
    join(app, 'lib', 'server.mjs'),
    `import { createServer } from 'node:http';\n` +
      `createServer((req, res) => {\n` +
      `  res.writeHead(req.url === '/healthz' ? ${status} : 404, { 'content-type': 'application/json' });\n` +
      `  res.end(JSON.stringify({ version: ${JSON.stringify(version)}, pid: process.pid }));\n` +
      `}).listen(Number(process.env.PORT), '127.0.0.1');\n`,
  );
  return app;
}


export interface Unit {
  dir: string;
  root: string;
  keys: { key: string; pub: string };
  port: number;
  /** Options every ota-update.sh call of this unit takes. */
  args: string[];
  bundles: string;
  /** Packs a release for this unit's key (override key/target to test refusals). */
  pack(version: string, opts?: AppOptions & { target?: string; key?: string }): Promise<string>;
  ota(extra: string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  /** The version `current` points at ('' when missing or dangling). */
  current(): string;
  previous(): string;
  releases(): string[];
  /** GET /healthz of the running stand-in service. */
  health(): Promise<{ status: number; version: string; pid: number } | null>;
  /** health(), polled until it answers (up to 5 s) — for a service just started. */
  waitHealth(): Promise<{ status: number; version: string; pid: number } | null>;
  /** SIGKILLs the stand-in service (a crash or a power cut). */
  killService(): void;
  /** What systemd does at boot: start the service on whatever `current` names. */
  boot(): Promise<RunResult>;
  /** Kills the service and removes the unit's files. */
  stop(): void;
}

const linkVersion = (root: string, name: string): string => {
  const link = join(root, 'opt/bestshot', name);
  try {
    const target = readlinkSync(link);
    const v = target.split('/').pop() ?? '';
    return existsSync(join(root, 'opt/bestshot/releases', v, 'bin/bestshot')) ? v : '';
  } catch {
    return '';
  }
};

/**
 * A unit under a temp root: config, trusted key, queue dir, a restart script
 * that stops the previous service process (pid file) and starts
 * `current/bin/bestshot run` detached, with stdio to a log file.
 */
export async function makeUnit(name: string, initial = '1.0.0'): Promise<Unit> {
  const dir = tempDir(name);
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc/bestshot'), { recursive: true });
  mkdirSync(join(root, 'var/lib/bestshot'), { recursive: true });
  mkdirSync(join(root, 'run'), { recursive: true });
  const keys = makeKeys(dir);
  writeFileSync(join(root, 'etc/bestshot/ota-pubkey.pem'), readFileSync(keys.pub));
  writeFileSync(join(root, 'etc/bestshot/config.yaml'), 'version: 1\ncameras: []\n');
  const port = await freePort();
  const restart = join(dir, 'restart.sh');
  writeFileSync(
    restart,
    [
      '#!/usr/bin/env bash',
      'set -u',
      `pidf=${root}/run/service.pid`,
      'if [[ -f $pidf ]]; then',
      '  pid=$(cat "$pidf")',
      '  kill "$pid" 2>/dev/null',
      // A killed orphan may linger as a zombie until init reaps it: gone is gone.
      '  for _ in $(seq 100); do st=$(ps -o stat= -p "$pid" 2>/dev/null) || break; [[ $st == Z* ]] && break; sleep 0.05; done',
      '  kill -9 "$pid" 2>/dev/null',
      'fi',
      `PORT=${port} setsid "$BESTSHOT_ROOT/opt/bestshot/current/bin/bestshot" run --config "$BESTSHOT_ROOT/etc/bestshot/config.yaml" >>${dir}/service.log 2>&1 </dev/null &`,
      'echo $! >"$pidf"',
      '',
    ].join('\n'),
  );
  chmodSync(restart, 0o755);
  const bundles = join(dir, 'bundles');
  mkdirSync(bundles);
  const args = ['--root', root, '--target', 'linux-x64', '--restart-cmd', restart, '--health-url', `http://127.0.0.1:${port}/healthz`, '--health-timeout', '3'];
  const unit: Unit = {
    dir,
    root,
    keys,
    port,
    args,
    bundles,
    async pack(version, opts = {}) {
      const app = makeApp(dir, version, opts);
      const out = join(bundles, Math.random().toString(36).slice(2, 8));
      const r = await run(PACKAGE, ['--version', version, '--target', opts.target ?? 'linux-x64', '--source', app, '--key', opts.key ?? keys.key, '--out', out]);
      if (r.code !== 0) throw new Error(`package.sh failed: ${r.stderr}`);
      return r.stdout.trim();
    },
    ota(extra, env = {}) {
      return run(OTA, [...args, ...extra], env);
    },
    current: () => linkVersion(root, 'current'),
    previous: () => linkVersion(root, 'previous'),
    releases() {
      const d = join(root, 'opt/bestshot/releases');
      return existsSync(d) ? readdirSync(d).filter((n) => statSync(join(d, n)).isDirectory()).sort() : [];
    },
    async health() {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
        const body = (await res.json()) as { version: string; pid: number };
        return { status: res.status, version: body.version, pid: body.pid };
      } catch {
        return null;
      }
    },
    async waitHealth() {
      for (let i = 0; i < 50; i++) {
        const h = await unit.health();
        if (h) return h;
        await new Promise((r) => setTimeout(r, 100));
      }
      return null;
    },
    killService() {
      const pidf = join(root, 'run/service.pid');
      if (!existsSync(pidf)) return;
      try {
        process.kill(Number(readFileSync(pidf, 'utf8').trim()), 'SIGKILL');
      } catch {
        /* already gone */
      }
    },
    boot() {
      return run(restart, [], { BESTSHOT_ROOT: root });
    },
    stop() {
      unit.killService();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (initial) {
    const b = await unit.pack(initial);
    const r = await unit.ota([b]);
    if (r.code !== 0) throw new Error(`initial install failed: ${r.stderr}`);
  }
  return unit;
}

/** sha256 of every file under dir (relative path → hex), to prove bytes untouched. */
export function treeHashes(dir: string, skip: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string): void => {
    for (const name of readdirSync(d).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, r);
      else out.set(r, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir, '');
  return out;
}

/**
 * Starts ota-update.sh with BESTSHOT_OTA_PAUSE_AT=step in its own process
 * group and resolves once it announces the pause; kill() sends SIGKILL to the
 * whole group (the script and the sleep it paused in).
 */
export function startPaused(unit: Unit, extra: string[], step: string): Promise<{ kill(): Promise<void>; pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(OTA, [...unit.args, ...extra], {
      cwd: REPO,
      detached: true,
      env: { ...process.env, BESTSHOT_OTA_PAUSE_AT: step },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let done = false;
    const exited = new Promise<void>((res) => child.on('close', () => res()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (!done && stderr.includes(`paused at ${step} `)) {
        done = true;
        resolve({
          pid: child.pid ?? -1,
          async kill() {
            process.kill(-(child.pid ?? 0), 'SIGKILL');
            await exited;
          },
        });
      }
    });
    child.on('close', (code) => {
      if (!done) reject(new Error(`ota-update.sh exited ${code} before pausing at ${step}: ${stderr}`));
    });
  });
}
