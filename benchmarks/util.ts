/** Shared helpers for benchmarks: percentiles, machine description, result files, command-line arguments. */
import { accessSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from '../src/cli/args.js';
import type { NumberKind } from '../src/errors.js';
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

/** The committed results folder: where result files go without `--results`. */
const DEFAULT_RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
/** `npm run bench -- <name> --results DIR` (run.ts sets it before the bench starts); undefined: DEFAULT_RESULTS_DIR. */
let resultsOverride: string | undefined;

/** The folder result files are written to and read back from (all.ts reads the benches' it ran). */
export function resultsDir(): string {
  return resultsOverride ?? DEFAULT_RESULTS_DIR;
}

/**
 * The `--results DIR` folder when one was given, else undefined: where a bench
 * puts the other files it writes for the record (detect-clips' annotated
 * images, docs/img/ otherwise), so such a run leaves the checkout as it was.
 */
export function givenResultsDir(): string | undefined {
  return resultsOverride;
}

/** Sends this process's result files to `dir` (an existing folder, checked by existingFolder) instead of benchmarks/results/. */
export function useResultsDir(dir: string): void {
  resultsOverride = resolve(dir);
}

export function writeResult(name: string, data: unknown): string {
  const dir = resultsDir();
  // Only the default folder is made: a --results folder was checked to exist before the bench started.
  if (resultsOverride === undefined) mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  // Results are committed: paths are written relative to the project (e.g. ../shared/data/…), never as this machine's.
  const portable = (_key: string, v: unknown): unknown => (typeof v === 'string' && isAbsolute(v) && !v.startsWith('/dev/') ? relative(PROJECT_ROOT, v) : v);
  writeFileSync(file, JSON.stringify({ machine: machine(), date: new Date().toISOString(), ...((data as object) ?? {}) }, portable, 2));
  return file;
}

export const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/**
 * A benchmark's command line, refused before any work (run.ts prints one line
 * on stderr and exits 2), or `--help`/`-h` (run.ts prints `message`, the
 * bench's usage, and exits 0). Nothing has run and no result file is written.
 */
export class BenchArgsError extends Error {
  override readonly name = 'BenchArgsError';
  constructor(
    message: string,
    readonly help = false,
    /** Point at `--help` (an unknown option or argument, not a bad value). */
    readonly seeHelp = false,
  ) {
    super(message);
  }
}

type BenchOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * The one parser of every benchmark's arguments: node:util parseArgs, strict
 * (an unknown option is refused), with the bench's options and at most
 * `positionals.length` positional arguments (named, for the message).
 * `--help`/`-h` anywhere throws the usage (exit 0, nothing runs).
 */
export function benchArgs<const O extends BenchOptions>(
  args: string[],
  usage: string,
  options: O,
  positionals: readonly string[] = [],
): { values: ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>>['values']; positionals: string[] } {
  if (args.includes('--help') || args.includes('-h')) throw new BenchArgsError(usage, true);
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    if (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
      // Node's hint about '--' only confuses: keep the first sentence.
      throw new BenchArgsError(e.message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '').replace(/\.$/, ''), false, true);
    }
    throw err;
  }
  const extra = parsed.positionals[positionals.length];
  if (extra !== undefined) {
    throw new BenchArgsError(`unexpected argument '${extra}' (${positionals.length ? `takes at most ${positionals.join(' ')}` : 'takes no positional arguments'})`, false, true);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** A number from the command line (option `--name` or positional `name`): `fallback` when absent, else checked, e.g. "Expected positive number for --seconds but received 'x'". */
export function benchNumber(kind: NumberKind, name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  const ok =
    text.trim() !== '' && Number.isFinite(n) && (!kind.endsWith('integer') || Number.isInteger(n)) && (kind.startsWith('positive') ? n > 0 : n >= 0);
  if (!ok) throw new BenchArgsError(`Expected ${kind} for ${name} but received '${text}'`);
  return n;
}

/** A comma-separated list of numbers (`1,2,4`), each checked as benchNumber does. */
export function benchNumbers(kind: NumberKind, name: string, text: string): number[] {
  return text.split(',').map((item) => benchNumber(kind, name, item, NaN));
}

/** One of a fixed set of words: `fallback` when absent. */
export function benchChoice<const C extends string>(name: string, text: string | undefined, choices: readonly C[], fallback: C): C {
  if (text === undefined) return fallback;
  if (!(choices as readonly string[]).includes(text)) throw new BenchArgsError(`Expected one of ${choices.join(', ')} for ${name} but received '${text}'`);
  return text as C;
}

/**
 * A folder a bench writes into that must already exist (`--results`, queue's
 * `--dir`): a typo is refused before any work instead of creating a tree of
 * folders wherever it points. Message: "no such folder: /x (--dir)".
 */
export function existingFolder(option: string, dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new BenchArgsError(`no such folder: ${dir} (${option})`);
    throw new BenchArgsError(`cannot read ${dir} (${code ?? String(err)}) (${option})`);
  }
  if (!isDir) throw new BenchArgsError(`${dir} is a file, not a folder (${option})`);
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new BenchArgsError(`cannot write into ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}) (${option})`);
  }
}

/**
 * Takes run.ts's own `--results DIR` (or `--results=DIR`) out of a bench's
 * arguments, so the bench's strict parser never sees it; arguments after
 * `--` are the bench's. Throws BenchArgsError when DIR is missing.
 */
export function takeResultsOption(args: readonly string[]): { results: string | undefined; rest: string[] } {
  let results: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (arg.startsWith('--results=')) results = arg.slice('--results='.length);
    else if (arg === '--results') {
      const next = args[i + 1];
      // As parseArgs refuses it: an option where the folder should be is a forgotten value.
      if (next === undefined || next.startsWith('-')) throw new BenchArgsError("Option '--results <dir>' argument missing", false, true);
      results = next;
      i++;
    } else rest.push(arg);
  }
  if (results === '') throw new BenchArgsError("Option '--results <dir>' argument missing", false, true);
  return { results, rest };
}
