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
 * By its resolved URL: a bare `--import tsx` is resolved from the working
 * directory, and `bestshot run` started from a user's own directory then
 * failed in its first worker (ERR_MODULE_NOT_FOUND).
 */
export function workerExecArgv(): string[] {
  if (!import.meta.url.endsWith('.ts')) return [];
  const tsx = import.meta.resolve('tsx');
  const hasTsx = process.execArgv.some((a) => a.includes('tsx'));
  return hasTsx ? process.execArgv.map((a) => (a === 'tsx' ? tsx : a)) : ['--import', tsx, ...process.execArgv];
}
