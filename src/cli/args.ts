/**
 * Numbers given on the command line: one parser and one wording for every
 * command. A wrong value is a UsageError (exit 2) naming the option and what
 * was typed, e.g. "Expected positive integer for --frames but received 'x'".
 */
import { UsageError, type NumberKind } from '../errors.js';

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
