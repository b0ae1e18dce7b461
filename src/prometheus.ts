/**
 * The product's Prometheus metrics (README, Running the service) and the small HTTP server
 * that serves them: `/metrics` (text exposition) and `/healthz` (200 when
 * ready — the camera delivers and the detector is loaded — 503 before).
 *
 * One registry per runtime (not prom-client's global one), so tests and
 * several runtimes in one process never collide. Latencies are in seconds
 * (Prometheus convention) with buckets from 1 ms to 1 s.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { redactFields } from './log.js';

/** 1 ms … 1 s. */
export const LATENCY_BUCKETS_S: readonly number[] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

/**
 * Pipeline stages timed by `stageLatency` (`bestshot_stage_latency_seconds`), per frame: 'detect' = capture → detection done,
 * 'track' = detection done → tracking and selection done, 'end_to_end' = capture → packages built.
 */
export const STAGES = ['detect', 'track', 'end_to_end'] as const;
export type Stage = (typeof STAGES)[number];

export interface BestshotMetrics {
  readonly registry: Registry;
  /** A5: frames taken from the source at captureHz. */
  readonly framesCaptured: Counter<'camera'>;
  /** Frames dropped, by reason (back-pressure drops happen before detection). */
  readonly framesDropped: Counter<'camera' | 'reason'>;
  /** Per-stage latency in seconds. */
  readonly stageLatency: Histogram<'camera' | 'stage'>;
  /** T2: tracks currently alive (tracked or lost within trackBuffer). */
  readonly tracksActive: Gauge<'camera'>;
  /** T2: tracks created (trackIds allocated). */
  readonly tracksCreated: Counter<'camera'>;
  /** S4/S5: frames selected, by route. */
  readonly selections: Counter<'camera' | 'route'>;
  /** U1/U2: packages acknowledged by the cloud, by route. */
  readonly packagesSent: Counter<'camera' | 'route'>;
  /** Bytes of packages acknowledged, by route (compare with sending every frame). */
  readonly bytesSent: Counter<'camera' | 'route'>;
  readonly framesSkipped: Counter<'camera'>;
  /** U2: packages waiting in the durable queue. */
  readonly queueDepth: Gauge;
  /** U2: bytes waiting in the durable queue. */
  readonly queueBytes: Gauge;
  /** U2: packages dropped from the queue (oldest dropped when full, dead-lettered…). */
  readonly queueDropped: Counter<'reason'>;
  /** U2: packages a corrupt queue file took with it (persistent count, also logged when it happens). */
  readonly queueLost: Gauge;
  /** U2: dead letters the queue holds (refused for good, not sent): persistent, from the queue file. */
  readonly queueDeadLetters: Gauge;
  /** Upload failures by kind. */
  readonly uploadErrors: Counter<'kind'>;
  /** A1–A4: exposure time currently applied, seconds. */
  readonly exposureTime: Gauge<'camera'>;
  /** A1–A4: gain (or ISO) currently applied. */
  readonly exposureGain: Gauge<'camera'>;
  /** A2/A3: switches between auto and manual exposure, by target mode. */
  readonly exposureModeSwitches: Counter<'camera' | 'to'>;
  /** A4: gain clamped at the sensor's range, exposure stretched towards T_manual_max. */
  readonly exposureClamped: Counter<'camera' | 'what'>;
  /** Worker threads restarted after a crash, by pool. */
  readonly workerRestarts: Counter<'pool'>;
  /** Camera pipelines restarted after a failure (with back-off). */
  readonly cameraRestarts: Counter<'camera'>;
  /** 1 while a camera delivers frames, 0 otherwise. */
  readonly cameraUp: Gauge<'camera'>;
  /** Record one stage latency in milliseconds (converted to seconds). */
  observeStageMs(camera: string, stage: Stage, ms: number): void;
}

export interface MetricsOptions {
  /** Registry to register in. Default: a new one. */
  registry?: Registry;
  /** Metric name prefix. Default 'bestshot_'. */
  prefix?: string;
  /** Also export process metrics (CPU, RSS, event-loop lag, GC). Default true. */
  defaultMetrics?: boolean;
  /** Labels added to every metric, e.g. { unit: 'rsu-17' }. */
  labels?: Record<string, string>;
}

/** Create the registry with every product metric defined (values start at zero). */
export function createMetrics(options: MetricsOptions = {}): BestshotMetrics {
  const registry = options.registry ?? new Registry();
  const p = options.prefix ?? 'bestshot_';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(p)) {
    throw new TypeError(`Expected metric name prefix matching /^[a-zA-Z_:][a-zA-Z0-9_:]*$/ for prefix but received '${p}'`);
  }
  if (options.labels) registry.setDefaultLabels(options.labels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: p });
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    new Counter<L>({ name: p + name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> =>
    new Gauge<L>({ name: p + name, help, labelNames, registers });

  const stageLatency = new Histogram<'camera' | 'stage'>({
    name: `${p}stage_latency_seconds`,
    help: 'Per-stage latency: detect (capture to boxes), track (boxes to tracked and selected), end_to_end (capture to packages built)',
    labelNames: ['camera', 'stage'],
    buckets: [...LATENCY_BUCKETS_S],
    registers,
  });

  return {
    registry,
    framesCaptured: counter('frames_captured_total', 'Frames taken from the source at captureHz (A5)', ['camera']),
    framesSkipped: counter('frames_skipped_total', 'Source frames the captureHz grid did not take (A5); expected, not a loss', ['camera']),
    framesDropped: counter('frames_dropped_total', 'Frames the product wanted and lost, by reason (back-pressure drops happen before detection)', [
      'camera',
      'reason',
    ]),
    stageLatency,
    tracksActive: gauge('tracks_active', 'Tracks alive now (T2)', ['camera']),
    tracksCreated: counter('tracks_created_total', 'Tracks created (T2)', ['camera']),
    selections: counter('selections_total', 'Frames selected as a best shot, by route (S4, S5)', ['camera', 'route']),
    packagesSent: counter('packages_sent_total', 'Packages acknowledged by the cloud, by route (U1, U2)', ['camera', 'route']),
    bytesSent: counter('bytes_sent_total', 'Bytes of acknowledged packages, by route', ['camera', 'route']),
    queueDepth: gauge('queue_depth', 'Packages waiting in the durable queue (U2)', []),
    queueBytes: gauge('queue_bytes', 'Bytes waiting in the durable queue (U2)', []),
    queueDropped: counter('queue_dropped_total', 'Packages dropped from the queue, by reason (U2)', ['reason']),
    queueLost: gauge('queue_lost_packages', 'Packages lost with a corrupt queue file that could not be read back (U2; persistent, each loss logged)', []),
    queueDeadLetters: gauge('queue_dead_letters', "Packages the endpoint refused for good, kept in the queue and not sent (U2; persistent: 'bestshot queue resend-dead' puts them back)", []),
    uploadErrors: counter('upload_errors_total', 'Failed upload attempts, retried or refused for good (dead letters), by kind', ['kind']),
    exposureTime: gauge('exposure_time_seconds', 'Exposure time applied (A1-A4)', ['camera']),
    exposureGain: gauge('exposure_gain', 'Gain or ISO applied (A1-A4)', ['camera']),
    exposureModeSwitches: counter('exposure_mode_switches_total', 'Switches between auto and manual exposure (A2, A3)', ['camera', 'to']),
    exposureClamped: counter('exposure_clamped_total', 'Gain clamped or exposure stretched to keep brightness (A4)', ['camera', 'what']),
    workerRestarts: counter('worker_restarts_total', 'Worker threads restarted after a crash', ['pool']),
    cameraRestarts: counter('camera_restarts_total', 'Camera pipelines restarted after a failure', ['camera']),
    cameraUp: gauge('camera_up', '1 while the camera delivers frames', ['camera']),
    observeStageMs(camera, stage, ms) {
      stageLatency.observe({ camera, stage }, ms / 1000);
    },
  };
}

export interface HealthStatus {
  ready: boolean;
  /** Shown in the /healthz body, e.g. { cameras: { gate: 'delivering' }, detector: 'loaded' }. */
  details?: Record<string, unknown>;
}

export interface MetricsServerOptions {
  /** Port; 0 = ephemeral (the bound port is in `port` and `url`). Default 9464. */
  port?: number;
  /** Bind address. Default '127.0.0.1'; '0.0.0.0' exposes the endpoints to the network. */
  host?: string;
  registry: Registry;
  /** Readiness; /healthz answers 503 until it says ready. Default: always ready. */
  health?: () => HealthStatus | Promise<HealthStatus>;
}

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  /** Stop listening and end open connections; idempotent. */
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
  res.end(head ? undefined : body);
}

/** Serve `/metrics` and `/healthz` over HTTP. Rejects with a clear message when the port cannot be bound. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 9464;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Expected integer between 0 and 65535 for port but received ${String(port)}`);
  }
  const { registry } = options;
  const health = options.health ?? ((): HealthStatus => ({ ready: true }));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    if (path !== '/metrics' && path !== '/healthz') {
      send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n', head);
      return;
    }
    if (req.method !== 'GET' && !head) {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false, { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/metrics') {
      send(res, 200, registry.contentType, await registry.metrics(), head);
      return;
    }
    let status: HealthStatus;
    try {
      status = await health();
    } catch (err) {
      status = { ready: false, details: { error: err instanceof Error ? err.message : String(err) } };
    }
    const body = JSON.stringify({ status: status.ready ? 'ready' : 'not ready', ...((redactFields(status.details ?? {}) as object) ?? {}) });
    send(res, status.ready ? 200 : 503, 'application/json', `${body}\n`, head);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${err instanceof Error ? err.message : String(err)}\n`, false);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`metrics server cannot listen on ${host}:${port} (${err.code ?? err.message})`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port: bound,
    url: `http://${urlHost}:${bound}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
