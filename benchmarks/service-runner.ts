/**
 * Runs benchmarks/service-child.ts in its own process against a reference
 * receiver in this process (loopback), so the child's RSS and CPU are the
 * service's alone.
 */
import { execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReceiver, type Receiver } from '../src/receiver/index.js';
import type { ChildResult, ChildSpec } from './service-child.js';

const CHILD = fileURLToPath(new URL('./service-child.ts', import.meta.url));
/** The compiled child (`npx tsc -p .`): what a unit runs (no tsx in the main thread and every worker). */
const COMPILED_CHILD = fileURLToPath(new URL('../dist/benchmarks/service-child.js', import.meta.url));

export interface ChildRunOptions {
  /** Run the compiled JS in dist/ (build it first) instead of the TypeScript through tsx. Default: dist when it is current. */
  compiled?: boolean;
  /** Extra environment for the child (e.g. MALLOC_ARENA_MAX). */
  env?: Record<string, string>;
}

/** Build dist/ (the compiled runtime a unit runs) unless it is current. */
export function ensureCompiled(log: (s: string) => void = console.log): void {
  if (compiledIsCurrent()) return;
  log('building dist/ (npx tsc -p .) so the service runs compiled, as on a unit ...');
  execFileSync(fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url)), ['-p', fileURLToPath(new URL('../tsconfig.json', import.meta.url))], { stdio: 'inherit' });
}

/** dist/ exists and is newer than every TypeScript source it was built from. */
export function compiledIsCurrent(): boolean {
  if (!existsSync(COMPILED_CHILD)) return false;
  const built = statSync(COMPILED_CHILD).mtimeMs;
  // Sources only: benchmarks/results/ changes with every run.
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (m, e) => (e.isDirectory() ? (e.name === 'results' ? m : Math.max(m, newest(join(dir, e.name)))) : e.name.endsWith('.ts') ? Math.max(m, statSync(join(dir, e.name)).mtimeMs) : m),
      0,
    );
  return built >= Math.max(newest(fileURLToPath(new URL('../src', import.meta.url))), newest(fileURLToPath(new URL('.', import.meta.url))));
}
const TOKEN = 'bench-token';

export class LoopbackReceiver {
  private constructor(
    readonly receiver: Receiver,
    readonly dir: string,
  ) {}

  static async start(): Promise<LoopbackReceiver> {
    const dir = mkdtempSync(join(tmpdir(), 'bestshot-bench-rcv-'));
    const receiver = await startReceiver({ port: 0, host: '127.0.0.1', dir, token: TOKEN });
    return new LoopbackReceiver(receiver, dir);
  }

  async close(): Promise<void> {
    await this.receiver.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function runServiceChild(
  rcv: LoopbackReceiver,
  spec: Omit<ChildSpec, 'dir' | 'endpoint' | 'token'>,
  opts: ChildRunOptions = {},
): Promise<ChildResult & { compiled: boolean; loadAvg1: [number, number] }> {
  const compiled = opts.compiled ?? compiledIsCurrent();
  const loadBefore = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-bench-svc-'));
  mkdirSync(join(dir, 'state'), { recursive: true });
  const full: ChildSpec = { ...spec, dir, endpoint: `${rcv.receiver.url}/packages`, token: TOKEN };
  const child = fork(compiled ? COMPILED_CHILD : CHILD, [JSON.stringify(full)], {
    // BESTSHOT_BENCH_CHILD_ARGS: extra Node flags for the service child (e.g. --cpu-prof, which NODE_OPTIONS refuses).
    execArgv: [...(compiled ? [] : ['--import', 'tsx']), ...(process.env.BESTSHOT_BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean)],
    env: { ...process.env, ...(compiled ? {} : { BESTSHOT_FROM_SOURCE: '1' }), ...opts.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const [result] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`service child exited with ${String(code)} before reporting`);
      }),
    ])) as [ChildResult];
    if (child.exitCode === null) await once(child, 'exit').catch(() => undefined);
    // The machine's 1-minute load before and after: other jobs on the same cores show here.
    return { ...result, compiled, loadAvg1: [Math.round(loadBefore * 100) / 100, Math.round(loadavg()[0]! * 100) / 100] };
  } finally {
    if (child.exitCode === null) child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Least-squares slope and intercept of y over x. */
export function linearFit(points: ReadonlyArray<readonly [number, number]>): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) return { slope: 0, intercept: points[0]?.[1] ?? 0 };
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return { slope, intercept: (sy - slope * sx) / n };
}
