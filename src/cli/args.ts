/**
 * Options given on the command line: one parser and one wording for every
 * command. A wrong number is a UsageError (exit 2) naming the option and
 * what was typed, e.g. "Expected positive integer for --frames but received 'x'".
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type NumberKind } from '../errors.js';
import { maskUrlCredentials } from '../log.js';
import { makeDirectory } from '../process-lock.js';

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * node:util parseArgs, except that a negative number after an option that
 * takes a value is that value (`--frames -1` reads as `--frames=-1`). Node
 * refuses it as "ambiguous" (it might be a forgotten value followed by an
 * option), which told the user nothing; given to the option, the number is
 * refused with the option's own range ("Expected positive integer for
 * --frames but received '-1'"). No option is named like a number, so
 * nothing else is read differently.
 */
export function parseArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof nodeParseArgs<T>> {
  const options = config.options ?? {};
  const byShort = new Map(Object.entries(options).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  const args = config.args ?? process.argv.slice(2);
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      joined.push(...args.slice(i));
      break;
    }
    const name = arg.startsWith('--') ? arg.slice(2) : /^-[^-]$/.test(arg) ? byShort.get(arg.slice(1)) : undefined;
    const next = args[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      joined.push(`--${name}=${next}`);
      i++;
    } else joined.push(arg);
  }
  try {
    return nodeParseArgs<T>({ ...config, args: joined });
  } catch (err) {
    // Node 20's hint for an unknown option opens a quote it never closes: "as in '-- "--bogus"".
    // Said with the quotes balanced; the error keeps its code (main.ts turns it into exit 2).
    const e = err as Error & { code?: string };
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const fixed = e.message.replace(/, as in '-- "(.*)"'?\.?$/, ", as in '-- $1'");
      if (fixed !== e.message) throw Object.assign(new TypeError(fixed), { code: e.code });
    }
    throw err;
  }
}

function parse(kind: NumberKind | 'number' | 'number between 0 and 1', name: string, text: string): number {
  const n = Number(text);
  // One branch per kind, so 'number between 0 and 1' cannot fall through to the sign checks (which accept 1.5).
  const inRange =
    kind === 'number'
      ? true
      : kind === 'number between 0 and 1'
        ? n >= 0 && n <= 1
        : (!kind.endsWith('integer') || Number.isInteger(n)) && (kind.startsWith('positive') ? n > 0 : n >= 0);
  const ok = text.trim() !== '' && Number.isFinite(n) && inRange;
  if (!ok) throw new UsageError(`Expected ${kind} for --${name} but received '${text}'`);
  return n;
}

/** An optional numeric option: `fallback` when absent. */
export function numberArg(kind: NumberKind | 'number' | 'number between 0 and 1', name: string, text: string | undefined, fallback: number): number;
export function numberArg(kind: NumberKind | 'number' | 'number between 0 and 1', name: string, text: string | undefined): number | undefined;
export function numberArg(kind: NumberKind | 'number' | 'number between 0 and 1', name: string, text: string | undefined, fallback?: number): number | undefined {
  return text === undefined ? fallback : parse(kind, name, text);
}

/**
 * A folder a command writes into, checked before any work: created when
 * missing, and writable — else a UsageError (exit 2) naming it, the cause and
 * the option to change, instead of an ENOENT/EACCES/ENOTDIR after the work.
 */
export function writableFolder(dir: string, option: string): void {
  try {
    makeDirectory(dir);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // makeDirectory names the part of the path that is a file (ENOTDIR, `path`): said as such.
    if (e.code === 'ENOTDIR' && e.path !== undefined) throw new UsageError(`${e.path} is a file, not a folder: choose another ${option}`);
    throw new UsageError(`cannot write into ${dir} (${e.code ?? e.message}): choose a writable ${option}`);
  }
}

/** An input file a command reads, checked before any work: a UsageError (exit 2) naming the option when it is missing. */
export function existingFile(path: string, option: string): void {
  if (!existsSync(path)) throw new UsageError(`no such file: ${path} (${option})`);
  if (statSync(path).isDirectory()) throw new UsageError(`${path} is a folder, not a file (${option})`);
}

/** The command line as started (/proc keeps it as typed; process.argv has the paths resolved, longer than the room a title has). */
function commandLine(): string[] {
  try {
    return readFileSync('/proc/self/cmdline', 'latin1').split('\0').filter((a) => a !== '');
  } catch {
    return [process.argv0, ...process.argv.slice(1)];
  }
}

/**
 * Secrets given on the command line (`receiver --token t`, a camera or broker URL with its
 * password: `probe rtsp://admin:pw@cam/…`, `ingest --broker mqtts://u:pw@…`) are readable by every
 * local account in ps and /proc/<pid>/cmdline for as long as the process runs. The process title
 * is rewritten without them (on Linux that overwrites what /proc shows); a command line with
 * none is left as it is.
 */
export function hideSecretsInTitle(): void {
  const args = commandLine();
  const shown = args.map((a, i) => (a.startsWith('--token=') ? '--token=***' : args[i - 1] === '--token' ? '***' : a.includes('://') ? maskUrlCredentials(a) : a));
  if (shown.some((a, i) => a !== args[i])) process.title = shown.join(' ');
}
