/**
 * The HTTP(S) sender (U1, U2, U3): POSTs one package as multipart/form-data
 * with `Idempotency-Key` and `Authorization: Bearer`, over TLS with a custom
 * CA and an optional client certificate (mTLS), with connect and response
 * timeouts, and classifies the outcome for the uploader:
 *   2xx → ok; 408, 429, 5xx and network errors → retryable (Retry-After
 *   honoured); every other status → permanent (dead letter with the reason).
 * node:http/https directly, one keep-alive agent per sender.
 */
import http from 'node:http';
import https from 'node:https';
import { createSecureContext } from 'node:tls';
import { invalidParameterError, optionalNumber } from '../errors.js';
import { maskUrlCredentials } from '../log.js';
import { encodeMultipart } from './multipart.js';
import type { UploadPackage } from './package.js';

export interface SenderOptions {
  /** Endpoint receiving the POST, http:// or https://, e.g. https://cloud.example/v1/packages. */
  url: string;
  /** Bearer token for the Authorization header; omitted when undefined. */
  token?: string;
  /** PEM CA certificate(s) trusted for the server, replacing the system store (private clouds, self-signed test CAs). */
  ca?: string | Buffer;
  /** PEM client certificate for mTLS; requires `key`. */
  cert?: string | Buffer;
  /** PEM private key of the client certificate. */
  key?: string | Buffer;
  /**
   * Time allowed to open the TCP (and TLS) connection, ms. Default 5000.
   * Lower fails faster on a dead uplink (the package goes back to the queue
   * sooner); higher tolerates slow cellular links.
   */
  connectTimeoutMs?: number;
  /**
   * Time allowed from the connection being open to the full response (body upload included), ms.
   * Default 30000. Lower frees a send slot sooner when the cloud stalls; too
   * low turns slow-but-successful uploads into duplicates (U3 dedupes them).
   */
  responseTimeoutMs?: number;
  /** Extra request headers (e.g. a tenant id). */
  headers?: Record<string, string>;
}

/** Kinds of failure, for stats and metrics; 'broker' is an MQTT PUBACK reason code (sinks). */
export type SendErrorKind = 'network' | 'timeout' | 'http408' | 'http429' | 'http5xx' | 'http4xx' | 'http3xx' | 'broker';

export type SendResult =
  | { kind: 'ok'; status: number; body: string; durationMs: number }
  | { kind: 'retryable'; errorKind: SendErrorKind; status?: number; retryAfterMs?: number; reason: string; durationMs: number }
  | { kind: 'permanent'; errorKind: SendErrorKind; status: number; reason: string; durationMs: number };

/** Anything that can deliver a package; the uploader takes this interface. */
export interface PackageSender {
  send(pkg: UploadPackage, signal?: AbortSignal): Promise<SendResult>;
  close(): void;
}

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns ms
 * from `nowMs` (0 for a date in the past), or undefined when absent or
 * unparseable.
 */
export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[A-Za-z]/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** U2: which HTTP statuses are worth retrying. */
export function classifyStatus(status: number): { kind: 'ok' } | { kind: 'retryable' | 'permanent'; errorKind: SendErrorKind } {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 408) return { kind: 'retryable', errorKind: 'http408' };
  if (status === 429) return { kind: 'retryable', errorKind: 'http429' };
  if (status >= 500) return { kind: 'retryable', errorKind: 'http5xx' };
  if (status >= 300 && status < 400) return { kind: 'permanent', errorKind: 'http3xx' };
  return { kind: 'permanent', errorKind: 'http4xx' };
}

/**
 * How far a package's response timeout grows after timeouts in a row (4 × upload.responseTimeoutMs: 1 min with the config's 15 s):
 * far enough for a package a few times too large for the uplink, short enough that a try stuck on a
 * hung endpoint does not hold the queue for long once it is back.
 */
const MAX_RESPONSE_TIMEOUT_SCALE = 4;

const guardedSockets = new WeakSet<object>();
const ignoreSocketError = (): void => {};

export class HttpSender implements PackageSender {
  readonly url: URL;
  readonly #token: string | undefined;
  readonly #connectTimeoutMs: number;
  readonly #responseTimeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #agent: http.Agent;
  readonly #tls: boolean;
  /**
   * Response timeouts in a row per package (idempotency key). The response timeout includes the
   * upload of the body, so on an uplink too slow for a package every try timed out and the same
   * package was sent again for ever, delivering nothing (and, at the queue head, holding every
   * package behind it). Each timeout doubles that package's next allowance, up to
   * MAX_RESPONSE_TIMEOUT_SCALE × responseTimeoutMs; any other outcome forgets it.
   */
  readonly #responseTimeouts = new Map<string, number>();

  constructor(options: SenderOptions) {
    if (typeof options?.url !== 'string') throw invalidParameterError('http(s) URL string', 'url', options?.url);
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw invalidParameterError('http(s) URL string', 'url', options.url);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidParameterError('http(s) URL string', 'url', options.url);
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new TypeError('Expected both cert and key for a client certificate (mTLS) but received only one');
    }
    this.url = url;
    this.#tls = url.protocol === 'https:';
    if (this.#tls && options.cert !== undefined && options.key !== undefined) {
      // The agent builds its TLS context only at the first request: a key that is not the
      // certificate's would then fail every send, for ever, instead of here once.
      try {
        createSecureContext({ cert: options.cert, key: options.key });
      } catch (err) {
        throw new TypeError(`Expected cert and key of one client certificate (mTLS) but they do not match (${(err as Error).message})`);
      }
    }
    this.#token = options.token;
    this.#connectTimeoutMs = optionalNumber('positive number', 'connectTimeoutMs', options.connectTimeoutMs, 5000);
    this.#responseTimeoutMs = optionalNumber('positive number', 'responseTimeoutMs', options.responseTimeoutMs, 30000);
    this.#headers = { ...(options.headers ?? {}) };
    this.#agent = this.#tls
      ? new https.Agent({ keepAlive: true, maxSockets: 8, ca: options.ca, cert: options.cert, key: options.key })
      : new http.Agent({ keepAlive: true, maxSockets: 8 });
  }

  send(pkg: UploadPackage, signal?: AbortSignal): Promise<SendResult> {
    const { contentType, body } = encodeMultipart(pkg);
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    const key = pkg.idempotencyKey;
    const timeoutsInARow = this.#responseTimeouts.get(key) ?? 0;
    const responseTimeoutMs = this.#responseTimeoutMs * Math.min(2 ** timeoutsInARow, MAX_RESPONSE_TIMEOUT_SCALE);
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let responseTimedOut = false;
      const finish = (result: SendResult): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#responseTimeouts.delete(key);
        if (responseTimedOut) {
          // Bounded: a queue of packages that all time out keeps the newest keys' counts.
          if (this.#responseTimeouts.size >= 1024) this.#responseTimeouts.delete(this.#responseTimeouts.keys().next().value as string);
          this.#responseTimeouts.set(key, timeoutsInARow + 1);
        }
        resolve(result);
      };
      const netFail = (errorKind: 'network' | 'timeout', reason: string): void =>
        finish({ kind: 'retryable', errorKind, reason, durationMs: elapsed() });
      const arm = (ms: number, what: string): void => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          responseTimedOut = what === 'response';
          netFail('timeout', `${what} timeout after ${ms} ms`);
          req.destroy(new Error(`${what} timeout`));
        }, ms);
      };
      const onAbort = (): void => {
        netFail('network', 'aborted');
        req.destroy(new Error('aborted'));
      };

      const transport = this.#tls ? https : http;
      let req: http.ClientRequest;
      try {
        req = transport.request(this.url, {
          method: 'POST',
          agent: this.#agent,
          headers: {
            ...this.#headers,
            'Content-Type': contentType,
            'Content-Length': String(body.length),
            'Idempotency-Key': pkg.idempotencyKey,
            ...(this.#token !== undefined ? { Authorization: `Bearer ${this.#token}` } : {}),
          },
        });
      } catch (err) {
        // A request Node refuses to start (bad TLS material, an invalid header) is a failed try like
        // any other: the package stays queued and the drain backs off, rather than a rejection
        // the uploader would report at every tick.
        netFail('network', `request not sent: ${(err as Error).message}`);
        return;
      }
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      arm(this.#connectTimeoutMs, 'connect');
      req.on('socket', (socket) => {
        // A socket can fail after its request has settled: the rest of a body the server
        // no longer reads (EPIPE, ECONNRESET), or a pooled socket's close. Node hands such
        // an error to the request while one uses the socket, else to the socket alone,
        // where without a listener it would end the process.
        if (!guardedSockets.has(socket)) {
          guardedSockets.add(socket);
          socket.on('error', ignoreSocketError);
        }
        const connected = (): void => {
          arm(responseTimeoutMs, 'response');
        };
        // A reused keep-alive socket is already connected.
        if (!socket.connecting) connected();
        else socket.once(this.#tls ? 'secureConnect' : 'connect', connected);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        netFail('network', err.code ? `${err.code}: ${err.message}` : err.message);
      });
      req.on('response', (res) => {
        // The server answered before it read the whole body (a proxy's early 401, 404 or
        // 413): what is left of the connection is unknown, so it is not reused.
        if (!req.writableFinished) req.shouldKeepAlive = false;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 64 * 1024) chunks.push(c);
          size += c.length;
        });
        res.on('error', (err) => netFail('network', `response: ${err.message}`));
        res.on('aborted', () => netFail('network', 'response aborted'));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          const c = classifyStatus(status);
          const durationMs = elapsed();
          if (c.kind === 'ok') return finish({ kind: 'ok', status, body: text, durationMs });
          // A redirect is not followed (the token would go along): its target is in the reason, for the operator.
          // The reason is kept in the queue with a dead letter and printed by 'queue inspect': a signed
          // Location (?X-Amz-Signature=…, ?token=…) or a body quoting one is masked as the log masks it.
          const location = status >= 300 && status < 400 ? res.headers.location : undefined;
          const reason = maskUrlCredentials(`HTTP ${status}${location ? ` to ${location}` : ''}${text ? `: ${text.slice(0, 500)}` : ''}`);
          if (c.kind === 'permanent') return finish({ kind: 'permanent', errorKind: c.errorKind, status, reason, durationMs });
          const ra = res.headers['retry-after'];
          const retryAfterMs = parseRetryAfter(Array.isArray(ra) ? ra[0] : ra);
          finish({ kind: 'retryable', errorKind: c.errorKind, status, reason, durationMs, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
        });
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
