/**
 * Worker entry files: the compiled .js next to this module in dist/, or the
 * .ts source when running through tsx (workers inherit `--import tsx`).
 */
export function workerUrl(name: string, base: string): URL {
  const ext = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, base);
}

/**
 * execArgv for workers: tsx must be loaded in them when running from source
 * (bin/bestshot.js registers tsx through its API, which workers do not inherit).
 */
export function workerExecArgv(): string[] {
  if (!import.meta.url.endsWith('.ts')) return [];
  const hasTsx = process.execArgv.some((a, i, all) => a.includes('tsx') || (a === '--import' && all[i + 1]?.includes('tsx')));
  return hasTsx ? process.execArgv : ['--import', 'tsx', ...process.execArgv];
}
