/**
 * Numbers given on the command line: one parser and one wording for every
 * command. A wrong value is a UsageError (exit 2) naming the option and what
 * was typed, e.g. "Expected positive integer for --frames but received 'x'".
 */
import { UsageError, type NumberKind } from '../errors.js';

function parse(kind: NumberKind | 'number' | 'number between 0 and 1', name: string, text: string): number {
  const n = Number(text);
  const ok =
    text.trim() !== '' &&
    Number.isFinite(n) &&
    (kind === 'number' ||
      (kind === 'number between 0 and 1' && n >= 0 && n <= 1) ||
      (kind.endsWith('integer') ? Number.isInteger(n) : true) && (kind.startsWith('positive') ? n > 0 : kind.startsWith('non-negative') ? n >= 0 : true));
  if (!ok) throw new UsageError(`Expected ${kind} for --${name} but received '${text}'`);
  return n;
}

/** An optional numeric option: `fallback` when absent. */
export function numberArg(kind: NumberKind | 'number' | 'number between 0 and 1', name: string, text: string | undefined, fallback: number): number;
export function numberArg(kind: NumberKind | 'number' | 'number between 0 and 1', name: string, text: string | undefined): number | undefined;
export function numberArg(kind: NumberKind | 'number' | 'number between 0 and 1', name: string, text: string | undefined, fallback?: number): number | undefined {
  return text === undefined ? fallback : parse(kind, name, text);
}
