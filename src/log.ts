/**
 * Structured logging with no dependency (README, Running the service): one JSON object per
 * line — `time`, `level`, `msg`, then bound fields (e.g. `camera`), then the
 * call's fields — or a one-line human format on a TTY. Child loggers bind
 * fields. Values under keys that look like credentials (token, secret,
 * password, authorization, api key, cookie) are written as '[redacted]', at
 * any depth, and passwords inside URLs as '***', so a config or an HTTP header logged by mistake leaks nothing.
 * A logger never throws: cycles, bigints and errors are serialised safely.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type LogLevelSetting = LogLevel | 'silent';
export type LogFormat = 'json' | 'pretty' | 'auto';
export type LogFields = Record<string, unknown>;

export const LOG_LEVELS: Readonly<Record<LogLevelSetting, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

/** Where lines go: anything with write(), e.g. process.stderr or a test's array sink. */
export interface LogSink {
  write(line: string): unknown;
  isTTY?: boolean;
}

export interface LoggerOptions {
  /** Lowest level written. Default 'info'; 'debug'/'trace' cost CPU per frame when used in hot paths. */
  level?: LogLevelSetting;
  /** 'json' lines (default; for journald and log collectors), 'pretty' for people, 'auto' = pretty when the sink is a TTY. */
  format?: LogFormat;
  /** Default process.stderr, so a command's stdout stays clean for its own output. */
  stream?: LogSink;
  /** Fields written on every line, e.g. { camera: 'gate' }. */
  bindings?: LogFields;
  /** Extra key names (case-insensitive substrings) to redact, besides the built-in ones. */
  redactKeys?: readonly string[];
  /** Colour in pretty format. Default: when the sink is a TTY and NO_COLOR is unset. */
  color?: boolean;
  /** Clock, for tests. */
  now?: () => Date;
}

export interface Logger {
  readonly level: LogLevelSetting;
  isLevelEnabled(level: LogLevel): boolean;
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  fatal(msg: string, fields?: LogFields): void;
  /** A logger writing to the same sink with more bound fields (later bindings win). */
  child(bindings: LogFields): Logger;
}

export const REDACTED = '[redacted]';
const DEFAULT_REDACT = ['token', 'secret', 'password', 'passwd', 'authorization', 'apikey', 'api_key', 'api-key', 'cookie'];
const MAX_DEPTH = 8;
const RESERVED = new Set(['time', 'level', 'msg']);

/** An Error as plain data: type, message, code, stack, cause. */
export function serializeError(err: Error, depth = 0): LogFields {
  const out: LogFields = { type: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (err.stack) out.stack = err.stack;
  if (err.cause !== undefined && depth < 3) {
    out.cause = err.cause instanceof Error ? serializeError(err.cause, depth + 1) : String(err.cause);
  }
  return out;
}

function makeKeyTest(extra: readonly string[] = []): (key: string) => boolean {
  const words = [...DEFAULT_REDACT, ...extra].map((w) => w.toLowerCase());
  return (key) => {
    const k = key.toLowerCase();
    return words.some((w) => k.includes(w));
  };
}

const defaultKeyTest = makeKeyTest();

/**
 * Query parameters that carry a credential: cameras that take the login in the query
 * (rtsp://cam/live?user=admin&password=…, &pwd=, &pass=) and signed URLs (?token=, X-Amz-Signature).
 */
const SECRET_QUERY_KEY = /token|secret|passw|signature|credential|apikey|api_key|auth/i;
const SECRET_QUERY_EXACT = new Set(['pass', 'pwd', 'pw', 'key', 'sig']);

/**
 * 'rtsp://user:pw@cam/s' → 'rtsp://user:***@cam/s', and '?password=pw' / '&token=t' after a URL's
 * path → '?password=***', wherever such URLs appear in a string.
 */
export function maskUrlCredentials(text: string): string {
  return text
    // 'rtsp://user:password@host/path' is the placeholder the hints show (it protects nothing), kept readable.
    .replace(/([a-z][a-z0-9+.-]*:\/\/([^/:@\s]*)):([^@/\s]*)@/gi, (m, head: string, user: string, pw: string) => (user === 'user' && pw === 'password' ? m : `${head}:***@`))
    // The query ends before punctuation that ends the sentence around it ('…?token=t: moved', '(…?pwd=p)').
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s?"']*\?)([^\s"']*?)(?=[).,:;!]*(?:[\s"']|$))/gi, (_m, head: string, query: string) => {
      const masked = query.replace(/(^|[&;])([^=&;#]+)=([^&;#]*)/g, (p: string, sep: string, key: string, value: string) =>
        value !== '' && (SECRET_QUERY_KEY.test(key) || SECRET_QUERY_EXACT.has(key.toLowerCase())) ? `${sep}${key}=***` : p,
      );
      return head + masked;
    });
}

/**
 * A JSON-safe copy of `value` with credential-like keys replaced by
 * '[redacted]', Errors serialised, bigints as strings and cycles cut.
 */
export function redactFields(value: unknown, isSecretKey: (key: string) => boolean = defaultKeyTest): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return v.includes('://') ? maskUrlCredentials(v) : v;
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'function' || typeof v === 'symbol') return undefined;
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) return '[Circular]';
    if (depth >= MAX_DEPTH) return Array.isArray(v) ? '[Array]' : '[Object]';
    seen.add(v);
    try {
      if (v instanceof Error) return walk(serializeError(v), depth);
      if (v instanceof Date) return v.toISOString();
      if (v instanceof Map) return walk(Object.fromEntries(v), depth);
      if (v instanceof Set) return walk([...v], depth);
      if (ArrayBuffer.isView(v)) return `[${v.constructor.name} ${v.byteLength} bytes]`;
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
      const out: LogFields = {};
      for (const [k, x] of Object.entries(v)) {
        const r = isSecretKey(k) && x !== undefined && x !== null ? REDACTED : walk(x, depth + 1);
        if (r !== undefined) out[k] = r;
      }
      return out;
    } finally {
      seen.delete(v);
    }
  };
  return walk(value, 0);
}

const COLORS: Record<LogLevel, string> = {
  trace: '\x1b[90m',
  debug: '\x1b[36m',
  info: '\x1b[32m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[35m',
};

function pad2(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function prettyValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/**
 * The ISO 8601 offset of local time from UTC at `time` ('+01:00', '-05:00', '+05:30'): with it a
 * pretty line names one instant, as the JSON format's UTC time ('…Z') does. Without it the lines of
 * units in different time zones (or of one unit across a DST change) could not be put in order.
 */
function utcOffset(time: Date): string {
  const minutes = -time.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/** `2026-11-24 20:45:07.123+01:00 INFO  [gate] message key=value` (local time with its offset: a service's log spans days). */
export function formatPretty(time: Date, level: LogLevel, msg: string, fields: LogFields, color: boolean): string {
  const t = `${time.getFullYear()}-${pad2(time.getMonth() + 1)}-${pad2(time.getDate())} ${pad2(time.getHours())}:${pad2(time.getMinutes())}:${pad2(time.getSeconds())}.${pad2(time.getMilliseconds(), 3)}${utcOffset(time)}`;
  const lvl = level.toUpperCase().padEnd(5);
  const { camera, err, ...rest } = fields;
  const parts = [t, color ? `${COLORS[level]}${lvl}\x1b[0m` : lvl];
  if (camera !== undefined) parts.push(`[${String(camera)}]`);
  parts.push(msg);
  for (const [k, v] of Object.entries(rest)) parts.push(`${k}=${prettyValue(v)}`);
  let line = parts.join(' ');
  if (err !== undefined) {
    const e = err as { message?: unknown; stack?: unknown };
    line += typeof e.stack === 'string' ? `\n${e.stack}` : ` err=${prettyValue(err)}`;
  }
  return line;
}

class StructuredLogger implements Logger {
  readonly level: LogLevelSetting;
  readonly #threshold: number;
  readonly #sink: LogSink;
  readonly #pretty: boolean;
  readonly #color: boolean;
  readonly #bindings: LogFields;
  readonly #isSecretKey: (key: string) => boolean;
  readonly #now: () => Date;
  readonly #options: LoggerOptions;

  constructor(options: LoggerOptions) {
    const level = options.level ?? 'info';
    if (!(level in LOG_LEVELS)) {
      throw new TypeError(`Expected one of ${Object.keys(LOG_LEVELS).map((l) => `'${l}'`).join(', ')} for level but received '${String(level)}'`);
    }
    const format = options.format ?? 'json';
    if (format !== 'json' && format !== 'pretty' && format !== 'auto') {
      throw new TypeError(`Expected one of 'json', 'pretty', 'auto' for format but received '${String(format)}'`);
    }
    this.#options = options;
    this.level = level;
    this.#threshold = LOG_LEVELS[level];
    this.#sink = options.stream ?? process.stderr;
    const tty = this.#sink.isTTY === true;
    this.#pretty = format === 'pretty' || (format === 'auto' && tty);
    this.#color = options.color ?? (tty && process.env.NO_COLOR === undefined);
    this.#isSecretKey = options.redactKeys ? makeKeyTest(options.redactKeys) : defaultKeyTest;
    this.#bindings = (redactFields(options.bindings ?? {}, this.#isSecretKey) as LogFields) ?? {};
    this.#now = options.now ?? (() => new Date());
  }

  isLevelEnabled(level: LogLevel): boolean {
    return LOG_LEVELS[level] >= this.#threshold;
  }

  #write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LOG_LEVELS[level] < this.#threshold) return;
    try {
      const time = this.#now();
      const extra = fields === undefined ? {} : (redactFields(fields, this.#isSecretKey) as LogFields);
      const merged: LogFields = { ...this.#bindings };
      // The message too: a URL built into it (an error's text) loses its password as fields do.
      const text = String(msg).includes('://') ? maskUrlCredentials(String(msg)) : String(msg);
      for (const [k, v] of Object.entries(extra)) merged[RESERVED.has(k) ? `field_${k}` : k] = v;
      const line = this.#pretty
        ? formatPretty(time, level, text, merged, this.#color)
        : JSON.stringify({ time: time.toISOString(), level, msg: text, ...merged });
      this.#sink.write(`${line}\n`);
    } catch (err) {
      // Never let logging break the pipeline; say so once per failure.
      try {
        this.#sink.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'log write failed', reason: String(err) })}\n`);
      } catch {
        /* the sink itself is broken: nothing more to do */
      }
    }
  }

  trace(msg: string, fields?: LogFields): void {
    this.#write('trace', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.#write('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.#write('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.#write('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.#write('error', msg, fields);
  }
  fatal(msg: string, fields?: LogFields): void {
    this.#write('fatal', msg, fields);
  }

  child(bindings: LogFields): Logger {
    return new StructuredLogger({
      ...this.#options,
      stream: this.#sink,
      bindings: { ...(this.#options.bindings ?? {}), ...bindings },
    });
  }
}

/** Create a logger. `createLogger({ level: 'silent' })` is a no-op logger for tests. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return new StructuredLogger(options);
}

/** A logger from the config's `log:` section. */
export function loggerFromConfig(log: { level: LogLevelSetting; format: LogFormat }, stream?: LogSink): Logger {
  return createLogger({ level: log.level, format: log.format, ...(stream ? { stream } : {}) });
}

/**
 * Node's process warnings (a library's deprecation or support notice, e.g.
 * the AWS SDK's multi-line Node-version notice) go to `log` as one record
 * instead of Node's own multi-line stderr text, which would break a JSON log.
 */
export function routeProcessWarnings(log: Pick<Logger, 'warn'>): void {
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    const [first, ...rest] = w.message.split('\n');
    log.warn(`${w.name}: ${first}`, { ...(w.code ? { code: w.code } : {}), ...(rest.length > 0 ? { detail: rest.join(' ').replace(/\s+/g, ' ').trim() } : {}) });
  });
}

/**
 * One line for an error that recurs while its cause lasts (a send tick, a
 * poll): the first of a message is said; its repeats within `everyMs` are
 * counted and said with the next line of that message after `everyMs`.
 */
export class RepeatedLine {
  #last: string | undefined;
  #saidAt = Number.NEGATIVE_INFINITY;
  #repeats = 0;
  constructor(readonly everyMs = 60_000) {}

  /** undefined: stay silent (a repeat, counted); else say it, with the repeats since it was last said. */
  admit(message: string, now: number): { repeatedTimes?: number; inS?: number } | undefined {
    if (message === this.#last && now - this.#saidAt < this.everyMs) {
      this.#repeats++;
      return undefined;
    }
    const fields = message === this.#last && this.#repeats > 0 ? { repeatedTimes: this.#repeats, inS: Math.round((now - this.#saidAt) / 1000) } : {};
    this.#last = message;
    this.#saidAt = now;
    this.#repeats = 0;
    return fields;
  }
}
