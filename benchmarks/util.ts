/** Shared helpers for benchmarks: percentiles, machine description, result files. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { isAbsolute, relative } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function summary(values: number[]): { n: number; p50: number; p90: number; p99: number; mean: number; max: number } {
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  return { n, p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99), mean, max: n ? Math.max(...values) : NaN };
}

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

export function writeResult(name: string, data: unknown): string {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  // Results are committed: paths are written relative to the project (e.g. ../shared/data/…), never as this machine's.
  const portable = (_key: string, v: unknown): unknown => (typeof v === 'string' && isAbsolute(v) && !v.startsWith('/dev/') ? relative(PROJECT_ROOT, v) : v);
  writeFileSync(file, JSON.stringify({ machine: machine(), date: new Date().toISOString(), ...((data as object) ?? {}) }, portable, 2));
  return file.pathname;
}

export const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
