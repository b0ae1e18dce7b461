/**
 * Worker entry files: the compiled .js next to this module in dist/, or the
 * .ts source when running through tsx (workers inherit `--import tsx`).
 */
export function workerUrl(name: string): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, import.meta.url);
}

/** execArgv for workers: tsx must be loaded in them when running from source. */
export function workerExecArgv(): string[] {
  if (!import.meta.url.endsWith('.ts')) return [];
  const hasTsx = process.execArgv.some((a, i, all) => a.includes('tsx') || (a === '--import' && all[i + 1]?.includes('tsx')));
  return hasTsx ? process.execArgv : ['--import', 'tsx', ...process.execArgv];
}
