/**
 * A small schema DSL: each config section is written as data (type, default,
 * bounds or enum, a one-line description, `secret`), and one validator walks
 * it (STYLE 5). Unknown keys are rejected; every issue names the key path, the
 * value and what was expected, e.g.
 * `cameras[0].captureHz: Expected positive number but received 'fast' of type string`.
 *
 * The same data renders the reference table in docs/config.md
 * (`bestshot check-config --schema`).
 */
import { maskUrlCredentials } from '../log.js';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { describeValue } from '../errors.js';
import { secretFileReadableByAll } from '../tls-files.js';

interface Common {
  /** One line for the reference table. */
  description: string;
  /** Absent is allowed and stays absent (no default). */
  optional?: boolean;
}

export interface NumberField extends Common {
  kind: 'number';
  integer?: boolean;
  min?: number;
  max?: number;
  /** `min` itself is excluded (a positive number: min 0, exclusiveMin). */
  exclusiveMin?: boolean;
  default?: number;
  unit?: string;
}

export interface StringField extends Common {
  kind: 'string';
  enum?: readonly string[];
  pattern?: RegExp;
  /** The most characters accepted (an id that names files and keys downstream). */
  maxLength?: number;
  /** URL schemes accepted, e.g. ['http:', 'https:']. */
  protocols?: readonly string[];
  default?: string;
}

export interface BooleanField extends Common {
  kind: 'boolean';
  default?: boolean;
}

/** A filesystem path; relative paths are resolved against the config file's directory. */
export interface PathField extends Common {
  kind: 'path';
  default?: string;
  /** The file holds a secret (a TLS private key): warned about when every local user can read it. */
  privateFile?: boolean;
}

/** A byte count: a non-negative integer or a string like '512MiB', '1.5 GB'. */
export interface BytesField extends Common {
  kind: 'bytes';
  default?: number;
}

/**
 * A secret: a literal string, `{ env: NAME }` or `{ file: PATH }`, resolved at
 * load to a string. `redact()` hides it; the logger never prints it.
 */
export interface SecretField extends Common {
  kind: 'secret';
}

export interface ArrayField extends Common {
  kind: 'array';
  items: Field;
  minItems?: number;
  maxItems?: number;
  unique?: boolean;
  default?: readonly unknown[];
}

export interface ObjectField extends Common {
  kind: 'object';
  fields: Record<string, Field>;
}

/** A union of object variants chosen by a `type` key (STYLE 5: "a union on type"). */
export interface UnionField extends Common {
  kind: 'union';
  variants: Record<string, ObjectField>;
  default?: Readonly<Record<string, unknown>>;
}

/** A map with free keys (matching keyPattern) and typed values. */
export interface RecordField extends Common {
  kind: 'record';
  values: Field;
  keyPattern?: RegExp;
  default?: Readonly<Record<string, unknown>>;
}

export type Field =
  | NumberField
  | StringField
  | BooleanField
  | PathField
  | BytesField
  | SecretField
  | ArrayField
  | ObjectField
  | UnionField
  | RecordField;

/** One validation problem; `segments` locate it in the YAML document. */
export interface ConfigIssue {
  path: string;
  segments: Array<string | number>;
  message: string;
  /** 1-based position in the source file, when known. */
  line?: number;
  column?: number;
}

export interface ValidateContext {
  /** Directory relative paths are resolved against. */
  baseDir: string;
  /** Environment for `{ env: NAME }` secrets. */
  env: Readonly<Record<string, string | undefined>>;
  issues: ConfigIssue[];
  warnings: string[];
  /**
   * Partial mode (for `defaults:`): absent keys stay absent, no defaults are
   * filled and no required key is demanded.
   */
  partial?: boolean;
  /** Key paths whose string came from `${VAR}` interpolation (a secret there is not "literal"). */
  fromEnv?: ReadonlySet<string>;
  /** Key paths whose string was made by `${VAR}` or `${VAR:-fallback}`: a number or boolean key reads it as one. */
  interpolated?: ReadonlySet<string>;
}

/**
 * A string made by `${VAR}` interpolation for a number or boolean key, read as
 * one: interpolation yields strings, so `captureHz: ${HZ}` with HZ=5 was
 * refused as "Expected positive number but received '5' of type string". A
 * camera's key inherited from `defaults:` counts when the default was made so.
 */
function fromInterpolation(ctx: ValidateContext, segments: ReadonlyArray<string | number>, value: unknown, kind: 'number' | 'boolean'): unknown {
  if (typeof value !== 'string' || ctx.interpolated === undefined) return value;
  const path = formatPath(segments);
  const inherited = segments[0] === 'cameras' && typeof segments[1] === 'number' ? formatPath(['defaults', ...segments.slice(2)]) : undefined;
  if (!ctx.interpolated.has(path) && (inherited === undefined || !ctx.interpolated.has(inherited))) return value;
  const text = value.trim();
  if (kind === 'boolean') return text === 'true' ? true : text === 'false' ? false : value;
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? n : value;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `cameras[0].source.path`, `model.perClassScore["traffic light"]`. */
export function formatPath(segments: ReadonlyArray<string | number>): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENT.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function issue(ctx: ValidateContext, segments: Array<string | number>, message: string): undefined {
  ctx.issues.push({ path: formatPath(segments), segments, message });
  return undefined;
}

function expected(ctx: ValidateContext, segments: Array<string | number>, what: string, value: unknown): undefined {
  return issue(ctx, segments, `Expected ${what} but received ${describeValue(value)}`);
}

/** The phrase used in messages: 'positive integer', 'number between 0 and 1'… */
export function describeField(f: Field): string {
  switch (f.kind) {
    case 'number': {
      const noun = f.integer ? 'integer' : 'number';
      if (f.min === 0 && f.max === undefined) return f.exclusiveMin ? `positive ${noun}` : `non-negative ${noun}`;
      if (f.min !== undefined && f.max !== undefined) return `${noun} between ${f.min} and ${f.max}`;
      if (f.min !== undefined) return `${noun} ${f.exclusiveMin ? '>' : '>='} ${f.min}`;
      if (f.max !== undefined) return `${noun} <= ${f.max}`;
      return noun;
    }
    case 'string':
      if (f.enum) return `one of ${f.enum.map((v) => `'${v}'`).join(', ')}`;
      if (f.protocols) return `${f.protocols.map((p) => p.replace(/:$/, '')).join(' or ')} URL`;
      if (f.maxLength !== undefined) return `string of 1-${f.maxLength} characters${f.pattern ? ` matching ${String(f.pattern)}` : ''}`;
      if (f.pattern) return `string matching ${String(f.pattern)}`;
      return 'non-empty string';
    case 'boolean':
      return 'boolean';
    case 'path':
      return 'path';
    case 'bytes':
      return "byte size (integer or string like '512MiB')";
    case 'secret':
      return 'secret (string, { env: NAME } or { file: PATH })';
    case 'array':
      if (f.minItems !== undefined && f.minItems === f.maxItems) return `array of ${f.minItems} ${plural(f.items)}`;
      return `array of ${plural(f.items)}`;
    case 'object':
      return 'mapping';
    case 'union':
      return `mapping with type ${Object.keys(f.variants).map((v) => `'${v}'`).join(', ')}`;
    case 'record':
      return `mapping of ${plural(f.values)}`;
  }
}

function plural(f: Field): string {
  switch (f.kind) {
    case 'number':
      return f.integer ? 'integers' : 'numbers';
    case 'string':
      return f.enum ? f.enum.map((v) => `'${v}'`).join(' | ') : 'strings';
    case 'object':
      return 'mappings';
    default:
      return `${f.kind} values`;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Damerau-free Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const al = a.toLowerCase();
  const bl = b.toLowerCase();
  const row = Array.from({ length: bl.length + 1 }, (_, i) => i);
  for (let i = 1; i <= al.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= bl.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (al[i - 1] === bl[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[bl.length]!;
}

/** The closest known key within a small edit distance (or a prefix match). */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.toLowerCase().startsWith(key.toLowerCase()) || key.toLowerCase().startsWith(k.toLowerCase()) ? 1 : distance(key, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** '512MiB' → 536870912; '1.5 GB' → 1500000000; 4096 → 4096. Undefined when malformed. */
export function parseBytes(value: unknown): number | undefined {
  // Above 2^53 a count of bytes is no longer exact (99999999999999999999999 was accepted and printed as 1e+23).
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = BYTE_UNITS[unit];
  if (factor === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}


function resolvePath(ctx: ValidateContext, p: string): string {
  return isAbsolute(p) ? p : resolve(ctx.baseDir, p);
}

function warnReadableByAll(ctx: ValidateContext, path: string, file: string): void {
  const warning = secretFileReadableByAll(file);
  if (warning !== undefined) ctx.warnings.push(`${path}: ${warning}`);
}

function validateSecret(ctx: ValidateContext, segments: Array<string | number>, value: unknown): string | undefined {
  const path = formatPath(segments);
  if (typeof value === 'string') {
    if (value.length === 0) return expected(ctx, segments, 'non-empty secret', value);
    if (!ctx.fromEnv?.has(path)) {
      ctx.warnings.push(`${path}: secret is written literally in the config file; prefer { env: NAME } or { file: PATH }`);
    }
    return value;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'env') {
      const name = value.env;
      if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        return expected(ctx, [...segments, 'env'], 'environment variable name', name);
      }
      const v = ctx.env[name];
      if (v === undefined || v === '') return issue(ctx, segments, `Environment variable ${name} is not set`);
      return v;
    }
    if (keys.length === 1 && keys[0] === 'file') {
      const file = value.file;
      if (typeof file !== 'string' || file.length === 0) return expected(ctx, [...segments, 'file'], 'path', file);
      const abs = resolvePath(ctx, file);
      let text: string;
      try {
        text = readFileSync(abs, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        return issue(ctx, segments, `Cannot read secret file ${abs} (${code})`);
      }
      const secret = text.replace(/\r?\n$/, '');
      if (secret.length === 0) return issue(ctx, segments, `Secret file ${abs} is empty`);
      warnReadableByAll(ctx, path, abs);
      return secret;
    }
  }
  // Never echo a secret, even a malformed one: name its type only.
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
  return issue(ctx, segments, `Expected ${describeField({ kind: 'secret', description: '' })} but received ${kind}`);
}

/**
 * Validate `value` against `field`; returns the value with defaults filled
 * (or undefined, with issues recorded in ctx).
 */
export function validateField(field: Field, value: unknown, segments: Array<string | number>, ctx: ValidateContext): unknown {
  const collection = field.kind === 'object' || field.kind === 'union' || field.kind === 'record' || field.kind === 'array';
  // `tracker:` with nothing after it is YAML null: treat an empty section as absent.
  if (value === undefined || (value === null && collection)) {
    if (ctx.partial) return undefined;
    if ('default' in field && field.default !== undefined) {
      const d = clone(field.default);
      return field.kind === 'path' ? resolvePath(ctx, d as string) : d;
    }
    if (field.optional) return undefined;
    if (field.kind === 'object') return validateObject(field, {}, segments, ctx);
    if (field.kind === 'record') return {};
    return issue(ctx, segments, `Missing required key; expected ${describeField(field)}`);
  }
  switch (field.kind) {
    case 'number': {
      value = fromInterpolation(ctx, segments, value, 'number');
      if (typeof value !== 'number' || !Number.isFinite(value)) return expected(ctx, segments, describeField(field), value);
      const ok =
        (!field.integer || Number.isInteger(value)) &&
        (field.min === undefined || (field.exclusiveMin ? value > field.min : value >= field.min)) &&
        (field.max === undefined || value <= field.max);
      return ok ? value : expected(ctx, segments, describeField(field), value);
    }
    case 'string': {
      if (typeof value !== 'string' || value.length === 0) return expected(ctx, segments, describeField(field), value);
      if (field.enum && !field.enum.includes(value)) return expected(ctx, segments, describeField(field), value);
      if (field.pattern && !field.pattern.test(value)) return expected(ctx, segments, describeField(field), value);
      if (field.maxLength !== undefined && value.length > field.maxLength) return expected(ctx, segments, describeField(field), value);
      if (field.protocols) {
        let url: URL;
        try {
          url = new URL(value);
        } catch {
          return expected(ctx, segments, describeField(field), maskUrlCredentials(value));
        }
        if (!field.protocols.includes(url.protocol)) return expected(ctx, segments, describeField(field), maskUrlCredentials(value));
        // WHATWG URL parses 'rtsp://' and 'mqtt://' (schemes it does not know) with an empty host, which the
        // run then retried for ever ('RTSP camera at :554 cannot be reached'); 'https://' it refuses itself.
        if (url.hostname === '') return expected(ctx, segments, `${describeField(field)} with a host`, maskUrlCredentials(value));
      }
      return value;
    }
    case 'boolean':
      value = fromInterpolation(ctx, segments, value, 'boolean');
      return typeof value === 'boolean' ? value : expected(ctx, segments, 'boolean', value);
    case 'path': {
      if (typeof value !== 'string' || value.length === 0) return expected(ctx, segments, 'path', value);
      const abs = resolvePath(ctx, value);
      if (field.privateFile) warnReadableByAll(ctx, formatPath(segments), abs);
      return abs;
    }
    case 'bytes': {
      const n = parseBytes(value);
      return n === undefined ? expected(ctx, segments, describeField(field), value) : n;
    }
    case 'secret':
      return validateSecret(ctx, segments, value);
    case 'array': {
      if (!Array.isArray(value)) return expected(ctx, segments, describeField(field), value);
      if (field.minItems !== undefined && value.length < field.minItems) {
        return field.minItems === field.maxItems
          ? issue(ctx, segments, `Expected ${describeField(field)} but received ${value.length}`)
          : issue(ctx, segments, `Expected at least ${field.minItems} item${field.minItems === 1 ? '' : 's'} but received ${value.length}`);
      }
      if (field.maxItems !== undefined && value.length > field.maxItems) {
        return field.minItems === field.maxItems
          ? issue(ctx, segments, `Expected ${describeField(field)} but received ${value.length}`)
          : issue(ctx, segments, `Expected at most ${field.maxItems} items but received ${value.length}`);
      }
      const out = value.map((item, i) => validateField(field.items, item, [...segments, i], ctx));
      if (field.unique) {
        const seen = new Set<string>();
        value.forEach((item, i) => {
          const k = JSON.stringify(item);
          if (seen.has(k)) issue(ctx, [...segments, i], `Duplicate value ${describeValue(item)}`);
          seen.add(k);
        });
      }
      return out;
    }
    case 'object':
      if (!isPlainObject(value)) return expected(ctx, segments, 'mapping', value);
      return validateObject(field, value, segments, ctx);
    case 'union': {
      if (!isPlainObject(value)) return expected(ctx, segments, describeField(field), value);
      const names = Object.keys(field.variants);
      const tag = value.type;
      if (typeof tag !== 'string' || !names.includes(tag)) {
        return expected(ctx, [...segments, 'type'], `one of ${names.map((v) => `'${v}'`).join(', ')}`, tag);
      }
      const { type: _type, ...rest } = value;
      const body = validateObject(field.variants[tag]!, rest, segments, ctx);
      return body === undefined ? undefined : { type: tag, ...body };
    }
    case 'record': {
      if (!isPlainObject(value)) return expected(ctx, segments, describeField(field), value);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (field.keyPattern && !field.keyPattern.test(k)) {
          issue(ctx, [...segments, k], `Invalid key; expected a key matching ${String(field.keyPattern)}`);
          continue;
        }
        const r = validateField(field.values, v, [...segments, k], ctx);
        if (r !== undefined) out[k] = r;
      }
      return out;
    }
  }
}

function validateObject(
  field: ObjectField,
  value: Record<string, unknown>,
  segments: Array<string | number>,
  ctx: ValidateContext,
): Record<string, unknown> | undefined {
  const known = Object.keys(field.fields);
  for (const key of Object.keys(value)) {
    if (!(key in field.fields)) {
      const hint = suggestKey(key, known);
      issue(
        ctx,
        [...segments, key],
        hint ? `Unknown key (did you mean '${hint}'?)` : `Unknown key (expected one of: ${known.join(', ')})`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of known) {
    const r = validateField(field.fields[key]!, value[key], [...segments, key], ctx);
    if (r !== undefined) out[key] = r;
  }
  return out;
}

/** Every key path of a schema (`cameras[].source{file}.path`), for docs and completeness tests. */
export interface SchemaRow {
  path: string;
  key: string;
  field: Field;
}

export function schemaRows(field: Field, prefix = ''): SchemaRow[] {
  const rows: SchemaRow[] = [];
  const walk = (f: Field, path: string, key: string): void => {
    if (path !== '') rows.push({ path, key, field: f });
    if (f.kind === 'object') {
      for (const [k, sub] of Object.entries(f.fields)) walk(sub, path === '' ? k : `${path}.${k}`, k);
    } else if (f.kind === 'union') {
      for (const [name, v] of Object.entries(f.variants)) {
        for (const [k, sub] of Object.entries(v.fields)) walk(sub, `${path}{${name}}.${k}`, k);
      }
    } else if (f.kind === 'array' && (f.items.kind === 'object' || f.items.kind === 'union')) {
      walk(f.items, `${path}[]`, key);
      rows.splice(
        rows.findIndex((r) => r.path === `${path}[]`),
        1,
      );
    }
  };
  walk(field, prefix, prefix);
  return rows;
}

/** Render the default of a field for the reference table. */
export function describeDefault(f: Field): string {
  if ('default' in f && f.default !== undefined) return JSON.stringify(f.default);
  if (f.optional) return '(none)';
  if (f.kind === 'object' || f.kind === 'record') return '';
  return '(required)';
}
