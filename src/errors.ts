/**
 * The one error module. Argument errors are TypeError/RangeError with a
 * message that names the parameter, the expectation and what was received;
 * domain errors carry a stable `code`. Tests assert these exact messages.
 */

export type ErrorCode =
  | 'ERR_CONFIG'
  | 'ERR_CAPTURE'
  | 'ERR_CAPTURE_ELEMENT_MISSING'
  | 'ERR_CAPTURE_SOURCE_NOT_FOUND'
  | 'ERR_NATIVE_ADDON'
  | 'ERR_MODEL'
  | 'ERR_MODEL_NOT_FOUND'
  | 'ERR_MODEL_MISMATCH'
  | 'ERR_MODEL_CHECKSUM'
  | 'ERR_QUEUE'
  | 'ERR_QUEUE_CORRUPT'
  | 'ERR_QUEUE_FULL_DISK'
  | 'ERR_INVALID_STATE'
  | 'ERR_EXPOSURE'
  | 'ERR_GNSS'
  | 'ERR_USAGE'
  | 'ERR_INPUT'
  | 'ERR_PORT_IN_USE'
  | 'ERR_LOCKED'
  | 'ERR_RECEIVER_INDEX';

/**
 * What to do about a directory a setting names that cannot be created or written, by the errno:
 * 'set it to a writable directory' alone sent the operator of a full disk or a directory owned by
 * another user after the wrong fix.
 */
export function unwritableDirAdvice(code: string | undefined, key: string): string {
  if (code === 'ENOSPC' || code === 'EDQUOT') return `the disk is full: free space on it, or set ${key} to a directory on another disk`;
  if (code === 'EROFS') return `the file system is mounted read-only: remount it read-write, or set ${key} to a directory on a writable one`;
  if (code === 'EACCES' || code === 'EPERM') {
    const uid = process.getuid?.();
    return `this user${uid === undefined ? '' : ` (uid ${uid})`} may not write there: give the directory to the user the service runs as (chown), or set ${key} to a directory it may write`;
  }
  return `set ${key} to a writable directory`;
}

/** Describe a received value the way the messages do: 'fast' of type string. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') {
    // A binary file read as a config, or a pasted blob: the message names the start, not kilobytes of it.
    if (value.length <= 80) return `'${value}' of type string`;
    return `'${value.slice(0, 60).replace(/[^\x20-\x7e]/g, '?')}…' (${value.length} characters) of type string`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${String(value)} of type ${typeof value}`;
  }
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

/** "Expected positive integer for captureHz but received 'fast' of type string" */
export function invalidParameterError(expected: string, name: string, value: unknown): TypeError {
  return new TypeError(`Expected ${expected} for ${name} but received ${describeValue(value)}`);
}

export function outOfRangeError(expected: string, name: string, value: unknown): RangeError {
  return new RangeError(`Expected ${expected} for ${name} but received ${describeValue(value)}`);
}

/**
 * An optional numeric option: `fallback` when undefined, TypeError when not a
 * number, RangeError when `accept` refuses it; both messages say `expected`.
 */
export function numberOption(name: string, value: unknown, fallback: number, expected: string, accept: (v: number) => boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidParameterError(expected, name, value);
  if (!Number.isFinite(value) || !accept(value)) throw outOfRangeError(expected, name, value);
  return value;
}

/** The kinds of number a parameter may be, named as the messages name them. */
export type NumberKind = 'positive number' | 'positive integer' | 'non-negative number' | 'non-negative integer';

/**
 * One rule and one wording for every numeric parameter: a TypeError when the
 * value is not a number (NaN included) or, for an integer kind, not an
 * integer; a RangeError when it is out of range (≤ 0 for positive, < 0 for
 * non-negative, or infinite).
 */
export function requireNumber(kind: NumberKind, name: string, value: unknown): number {
  const integer = kind.endsWith('integer');
  if (typeof value !== 'number' || Number.isNaN(value) || (integer && Number.isFinite(value) && !Number.isInteger(value))) {
    throw invalidParameterError(kind, name, value);
  }
  const positive = kind.startsWith('positive');
  if (!Number.isFinite(value) || (positive ? value <= 0 : value < 0)) throw outOfRangeError(kind, name, value);
  return value;
}

/** requireNumber for an optional parameter: `fallback` when undefined. */
export function optionalNumber(kind: NumberKind, name: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : requireNumber(kind, name, value);
}

export class BestshotError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A data file given on the command line cannot be used as what it was given
 * for (a det.txt row that is not MOTChallenge's, a binary file, a seqinfo.ini
 * without the sizes): `file` is the file, with `:line` where one line is at
 * fault. Exit 2, as a usage error: the input is wrong, not the run or the config.
 */
export class InputError extends BestshotError {
  readonly file: string;
  constructor(file: string, message: string) {
    super('ERR_INPUT', `${file}: ${message}`);
    this.file = file;
  }
}

/** A configuration value is wrong; `path` is the key path, e.g. cameras[0].captureHz. */
export class ConfigError extends BestshotError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('ERR_CONFIG', path ? `${path}: ${message}` : message);
    this.path = path;
  }
}

export class CaptureError extends BestshotError {
  constructor(message: string, code: ErrorCode = 'ERR_CAPTURE', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export class ModelError extends BestshotError {
  constructor(message: string, code: ErrorCode = 'ERR_MODEL', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export class QueueError extends BestshotError {
  constructor(message: string, code: ErrorCode = 'ERR_QUEUE', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The command line is wrong (unknown option, missing or unusable input/output); the CLI exits 2. */
export class UsageError extends BestshotError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/** A stateDir or queue is held by another live process (process-lock.ts); `pid` is the holder's. */
export class LockedError extends BestshotError {
  readonly pid: number;
  constructor(message: string, pid: number) {
    super('ERR_LOCKED', message);
    this.pid = pid;
  }
}

export class InvalidStateError extends BestshotError {
  constructor(message: string) {
    super('ERR_INVALID_STATE', message);
  }
}

export class ExposureError extends BestshotError {
  constructor(message: string) {
    super('ERR_EXPOSURE', message);
  }
}

export class GnssError extends BestshotError {
  constructor(message: string) {
    super('ERR_GNSS', message);
  }
}

/** Rethrow an error from the addon with the caller's stack (sharp does the same). */
export function rethrowNative(err: unknown, wrap: (message: string) => Error): never {
  const message = err instanceof Error ? err.message : String(err);
  const wrapped = wrap(message);
  // Keep the native error as the cause, so its own stack and fields are not lost.
  if (wrapped.cause === undefined) Object.defineProperty(wrapped, 'cause', { value: err, configurable: true, writable: true, enumerable: false });
  Error.captureStackTrace(wrapped, rethrowNative);
  throw wrapped;
}
