/**
 * Load, migrate, validate and complete a config file (STYLE 5): YAML →
 * `${ENV}` interpolation → migrations → `defaults:` inherited by every
 * camera (deep merge) → schema per section (defaults filled, unknown keys
 * rejected) → named cross-field checks → a typed `BestshotConfig`.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { unsupportedFileFormat } from '../capture/file-format.js';
import { ConfigError, describeValue } from '../errors.js';
import { PROJECT_ROOT } from '../paths.js';
import { migrate } from './migrations.js';
import { formatPath, validateField, type ArrayField, type ConfigIssue, type Field, type ObjectField, type ValidateContext } from './schema.js';
import { CONFIG_SCHEMA, DEFAULTS_SECTION } from './sections.js';
import type { BestshotConfig, CameraConfig, CameraDefaults, SourceConfig } from './types.js';
import { verifyConfig } from './verify.js';

/** Every problem of a file at once; `message` lists them, `issues` has each with its line. */
export class ConfigValidationError extends ConfigError {
  readonly issues: ConfigIssue[];
  /** The config file, when the problems were read from one: each is then named `file:line:column:` as check-config names it. */
  readonly file: string | undefined;
  constructor(issues: ConfigIssue[], file?: string) {
    const where = (i: ConfigIssue): string => (file === undefined ? '' : i.line !== undefined ? `${file}:${i.line}:${i.column ?? 1}: ` : `${file}: `);
    const one = issues.length === 1;
    super(
      one ? issues[0]!.path : '',
      one ? issues[0]!.message : `${issues.length} config errors:\n${issues.map((i) => `  ${where(i)}${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n')}`,
    );
    if (one) this.message = `${where(issues[0]!)}${this.message}`;
    this.issues = issues;
    this.file = file;
  }
}

export interface ParseOptions {
  /** Relative paths are resolved against this directory (default: cwd). */
  baseDir?: string;
  /** Environment for `${VAR}` interpolation, `{ env: NAME }` secrets and BESTSHOT_SHARED_DIR (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface LoadedConfig {
  config: BestshotConfig;
  /** Migration notes and cross-field warnings (e.g. minScore2 ≤ minScore1), each with its key path. */
  warnings: string[];
}

type Doc = Record<string, unknown>;
type Segs = Array<string | number>;

function isObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `$${`, `${NAME}` or `${NAME:-fallback}`; a `${` of any other form is matched alone (malformed). */
const VAR = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{/g;

/**
 * `${NAME}` and `${NAME:-fallback}` in string values are replaced from the
 * environment; `$${` is a literal `${`. An unset variable without fallback
 * is an error naming the key.
 */
export function interpolateEnv(
  value: unknown,
  env: ParseOptions['env'] & object,
  segs: Segs,
  issues: ConfigIssue[],
  fromEnv?: Set<string>,
  interpolated?: Set<string>,
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(VAR, (m: string, name: string | undefined, fallback: string | undefined, at: number) => {
      if (m === '$${') return '${';
      if (name === undefined) {
        // '${CLIPDIR/x}', '${ HOME }', an unclosed '${': kept as it was, the path resolved relative to the
        // config ('no such file: …/${CLIPDIR/clips}/x.mp4') with no word of the syntax.
        const rest = value.slice(at);
        const close = rest.indexOf('}');
        const shown = close >= 0 ? rest.slice(0, close + 1) : rest.slice(0, 24);
        issues.push({ path: formatPath(segs), segments: segs, message: `Malformed variable '${shown}': expected \${NAME} or \${NAME:-fallback} (NAME: letters, digits, _), or $\${ for a literal \${` });
        return m;
      }
      const v = env[name as string];
      if (v !== undefined && v !== '') {
        fromEnv?.add(formatPath(segs));
        interpolated?.add(formatPath(segs));
        return v;
      }
      if (fallback !== undefined) {
        interpolated?.add(formatPath(segs));
        return fallback;
      }
      issues.push({ path: formatPath(segs), segments: segs, message: `Environment variable ${name} is not set` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...segs, i], issues, fromEnv, interpolated));
  if (isObject(value)) {
    const out: Doc = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, [...segs, k], issues, fromEnv, interpolated);
    return out;
  }
  return value;
}

/** Deep merge for `defaults:` inheritance: mappings merge key by key, anything else in `over` wins. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined || over === null) return structuredClone(base);
  if (isObject(base) && isObject(over)) {
    const out: Doc = structuredClone(base);
    for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
    return out;
  }
  return structuredClone(over);
}

const INHERITED = ['captureHz', 'exposure', 'tracker', 'selection', 'jpegQuality', 'ringSeconds', 'heldFrames', 'pixelFormat'] as const;

/** A camera's raw mapping with `defaults:` merged under it. */
export function inheritDefaults(camera: unknown, defaults: CameraDefaults): unknown {
  if (!isObject(camera)) return camera;
  const out: Doc = { ...camera };
  for (const key of INHERITED) {
    if (defaults[key] !== undefined) out[key] = deepMerge(defaults[key], camera[key]);
  }
  return out;
}

/** `defaults:` is taken out and validated on its own in partial mode; the rest against the whole schema. */
const MAIN_SCHEMA: ObjectField = CONFIG_SCHEMA;

function sharedDir(env: ParseOptions['env'] & object): string {
  return resolve(env.BESTSHOT_SHARED_DIR ?? join(PROJECT_ROOT, '..', 'shared'));
}

/** D1: model.path default — models/yolox_nano.onnx in the project, then $BESTSHOT_SHARED_DIR/models. */
export function defaultModelPath(env: ParseOptions['env'] & object = process.env): string {
  const candidates = [join(PROJECT_ROOT, 'models', 'yolox_nano.onnx'), join(sharedDir(env), 'models', 'yolox_nano.onnx')];
  return candidates.find((p) => existsSync(p)) ?? candidates[candidates.length - 1]!;
}

function locate(doc: Document | undefined, lc: LineCounter | undefined, issue: ConfigIssue): ConfigIssue {
  if (!doc || !lc) return issue;
  const segs = issue.segments;
  // Point at the key itself when the parent is a mapping that has it.
  if (segs.length > 0) {
    const parent = segs.length === 1 ? doc.contents : doc.getIn(segs.slice(0, -1), true);
    const last = segs[segs.length - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
      const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (range) {
        const pos = lc.linePos(range[0]);
        return { ...issue, line: pos.line, column: pos.col };
      }
    }
  }
  // A camera's value it did not write itself came from defaults: (a T_manual above the camera's
  // T_manual_max, set under defaults.exposure) — pointed at there and said so, not at the camera's '- id:' line.
  if (segs[0] === 'cameras' && segs.length > 2 && doc.getIn(segs, true) === undefined) {
    const inDefaults = ['defaults', ...segs.slice(2)];
    if (doc.getIn(inDefaults, true) !== undefined) {
      const located = locate(doc, lc, { ...issue, segments: inDefaults });
      return { ...located, segments: segs, message: `${issue.message} (inherited from ${formatPath(inDefaults)})` };
    }
  }
  for (let n = segs.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(segs.slice(0, n), true);
    if (isNode(node) && node.range) {
      const pos = lc.linePos(node.range[0]);
      return { ...issue, line: pos.line, column: pos.col };
    }
  }
  return issue;
}

/**
 * The file sources whose recording is not there. Parsing only warns (a
 * config may be written before its clip is copied); `bestshot run` and
 * `check-config` refuse to start on them.
 */
export function missingRecordings(config: Pick<BestshotConfig, 'cameras'>): Array<{ key: string; file: string }> {
  return config.cameras.flatMap((cam, i) => (cam.source.type === 'file' && !existsSync(cam.source.path) ? [{ key: `cameras[${i}].source.path`, file: cam.source.path }] : []));
}

/** The start's refusal of the first missing recording (a mistake in the config, not a camera that may come back). */
export function refuseMissingRecording(config: Pick<BestshotConfig, 'cameras'>): void {
  const missing = missingRecordings(config)[0];
  if (missing !== undefined) throw new ConfigError(missing.key, `no such file: ${missing.file}`);
}

/**
 * The file sources whose recording is there but in a format the pipeline
 * cannot play to its end (a GIF: see unsupportedFileFormat); `problem` is
 * the reason. `bestshot run` and `check-config` refuse to start on them, as
 * on a missing one: a camera would otherwise be opened and retried for ever.
 */
export function unsupportedRecordings(config: Pick<BestshotConfig, 'cameras'>): Array<{ key: string; file: string; problem: string }> {
  return config.cameras.flatMap((cam, i) => {
    if (cam.source.type !== 'file') return [];
    const problem = unsupportedFileFormat(cam.source.path);
    return problem === undefined ? [] : [{ key: `cameras[${i}].source.path`, file: cam.source.path, problem }];
  });
}

/** Parse YAML text into a plain mapping; syntax errors name line and column. */
export function parseYaml(text: string): { raw: Doc; doc: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  // merge: YAML's '<<: *anchor' merge keys, the usual way to share a camera block; without it
  // '<<' was read as a key of its own ("Unknown key (did you mean 'id'?)").
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
    let reason = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    // yaml's advice ("please use YAML.parseAllDocuments()") is for programmers, not for whoever wrote the file.
    if (e.code === 'MULTIPLE_DOCS') reason = "a second YAML document starts here (a '---' line): a config is one document";
    throw new ConfigError('', `Invalid YAML at line ${pos.line}, column ${pos.col}: ${reason}`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // yaml's own words ("Excessive alias count indicates a resource exhaustion attack") named no file and no fix.
    if (err instanceof ReferenceError && /alias count/i.test(err.message)) {
      throw new ConfigError('', 'Invalid YAML: its aliases (*name) expand to too much (more than 100 copies of an anchor\'s contents): write the values out, or use defaults: for what cameras share');
    }
    throw err;
  }
  if (raw === null || raw === undefined) return { raw: {}, doc, lineCounter };
  if (!isObject(raw)) throw new ConfigError('', `Expected a mapping at the top level but received ${describeValue(raw)}`);
  return { raw, doc, lineCounter };
}

/**
 * Validate a config given as YAML text or as an already-parsed object.
 * Throws ConfigError (a ConfigValidationError listing every issue when there
 * are several); returns the typed config and warnings.
 */
export function parseConfig(input: string | Doc, options: ParseOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const baseDir = resolve(options.baseDir ?? process.cwd());
  let raw: Doc;
  let doc: Document | undefined;
  let lc: LineCounter | undefined;
  if (typeof input === 'string') {
    ({ raw, doc, lineCounter: lc } = parseYaml(input));
  } else if (isObject(input)) {
    raw = input;
  } else {
    throw new ConfigError('', `Expected a mapping at the top level but received ${describeValue(input)}`);
  }
  const fail = (issues: ConfigIssue[]): never => {
    throw new ConfigValidationError(issues.map((i) => locate(doc, lc, i)));
  };

  const issues: ConfigIssue[] = [];
  const fromEnv = new Set<string>();
  const madeByVars = new Set<string>();
  const interpolated = interpolateEnv(raw, env, [], issues, fromEnv, madeByVars) as Doc;
  if (issues.length > 0) fail(issues);
  const migrated = migrate(interpolated);
  const warnings = migrated.notes.slice();
  const { defaults: rawDefaults, ...rest } = migrated.doc;

  const ctx: ValidateContext = { baseDir, env, issues, warnings, fromEnv, interpolated: madeByVars };
  const defaults = (validateField(DEFAULTS_SECTION, rawDefaults, ['defaults'], { ...ctx, partial: true }) ?? {}) as CameraDefaults;
  if (Array.isArray(rest.cameras) && issues.length === 0) {
    rest.cameras = rest.cameras.map((cam) => inheritDefaults(cam, defaults));
  }
  const validated = validateField(MAIN_SCHEMA, rest, [], ctx) as Omit<BestshotConfig, 'defaults'> | undefined;
  if (issues.length > 0 || validated === undefined) fail(issues);
  const config = { ...(validated as Omit<BestshotConfig, 'defaults'>), defaults } as BestshotConfig;
  config.version = 1;
  if (config.model.path === undefined) config.model.path = defaultModelPath(env);
  if (!existsSync(config.model.path)) warnings.push(`model.path: file not found: ${config.model.path}`);
  for (const m of missingRecordings(config)) warnings.push(`${m.key}: file not found: ${m.file}`);

  const findings = verifyConfig(config);
  const errors = findings.filter((f) => f.level === 'error');
  if (errors.length > 0) fail(errors.map((f) => ({ path: formatPath(f.segments), segments: f.segments, message: f.message })));
  for (const f of findings) if (f.level === 'warning') warnings.push(`${formatPath(f.segments)}: ${f.message}`);
  return { config, warnings };
}

/**
 * The largest config file read: 60 times the example with every key
 * (config/example.yaml, 17 KB). A 50 MB file (a log or a disk image given by
 * mistake, or a generated file gone wrong) was parsed whole and ran 'bestshot
 * run' and check-config out of memory (a V8 abort, exit 134, after a minute).
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** A config file's text, or a ConfigError naming the file and why it cannot be read (missing, a folder, too large). */
export async function readConfigText(abs: string): Promise<string> {
  try {
    const st = await stat(abs);
    if (st.isFile() && st.size > MAX_CONFIG_BYTES) {
      throw new ConfigError('', `Config file ${abs} is ${st.size} bytes, more than a config can be (${MAX_CONFIG_BYTES} bytes at most; the example with every key is 17 KB): check the path`);
    }
    return await readFile(abs, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('', `Cannot read config file ${abs} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Read and validate a YAML config file; relative paths inside resolve against its directory. */
export async function loadConfig(path: string, options: Omit<ParseOptions, 'baseDir'> = {}): Promise<LoadedConfig> {
  const abs = resolve(path);
  const text = await readConfigText(abs);
  try {
    return parseConfig(text, { ...options, baseDir: dirname(abs) });
  } catch (err) {
    if (err instanceof ConfigValidationError && err.file === undefined) throw new ConfigValidationError(err.issues, abs);
    throw err;
  }
}

/** config/demo.yaml: the embedded default (`npm start` with no config). */
export const DEMO_CONFIG_PATH = join(PROJECT_ROOT, 'config', 'demo.yaml');

/** Load the embedded default config (a sample clip replayed to a loopback receiver). */
export function loadDemoConfig(options: Omit<ParseOptions, 'baseDir'> = {}): Promise<LoadedConfig> {
  return loadConfig(DEMO_CONFIG_PATH, options);
}

/** Every default filled, no cameras: a base for configs built in code and tests. */
export function defaultConfig(options: ParseOptions = {}): BestshotConfig {
  const env = options.env ?? process.env;
  const ctx: ValidateContext = { baseDir: resolve(options.baseDir ?? process.cwd()), env, issues: [], warnings: [] };
  const schema: Field = { ...MAIN_SCHEMA, fields: { ...MAIN_SCHEMA.fields, cameras: { ...(CONFIG_SCHEMA.fields.cameras as ArrayField), default: [] } } };
  const config = validateField(schema, {}, [], ctx) as Omit<BestshotConfig, 'defaults'>;
  const model = config.model as BestshotConfig['model'];
  model.path = defaultModelPath(env);
  return { ...config, defaults: {} } as BestshotConfig;
}

/** One camera with every default filled (for code and tests); throws ConfigError on a bad source. */
export function defaultCamera(id: string, source: Partial<SourceConfig> & { type: SourceConfig['type'] }, options: ParseOptions = {}): CameraConfig {
  const { config } = parseConfig({ cameras: [{ id, source }], receiver: { embedded: true } }, options);
  return config.cameras[0]!;
}
