/**
 * Offline run on a recording (bestshot replay / the demo): the full pipeline
 * in 'offline' mode (no frame dropped for being late), writing
 *   tracks.jsonl   — every frame's track entries (T3),
 *   uploads.jsonl  — every package handed to the uploader (the upload log),
 *   summary.json   — counts, bytes, latency,
 *   report/        — the HTML report (with --report),
 * and waiting until the queue has delivered what the run selected.
 */
import { CaptureError, ConfigError } from '../errors.js';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BestshotConfig } from '../config/index.js';
import { BestshotService, type RuntimeLogger } from './service.js';
import { latencyPercentile, writeReport, type ReportSummary } from './report.js';
import { RunImages } from './run-images.js';
import type { UploadRecord } from './camera-runner.js';
import { makeDirectory } from '../process-lock.js';

export interface ReplayOptions {
  config: BestshotConfig;
  outDir: string;
  report: boolean;
  logger: RuntimeLogger;
  /** Encode every frame too, to report the exact every-frame byte count. Default true. */
  measureEveryFrame?: boolean;
  /** Longest wait for the queue to drain after the recording ends, ms. Default 120 000. */
  drainTimeoutMs?: number;
  progress?: (framesProcessed: number, uploads: number) => void;
  /** Called while the queue drains after the recording ended, with the packages left. */
  draining?: (left: number) => void;
  /**
   * Aborted (its reason: the signal's name) to end the replay early: capture stops, the frames in
   * flight finish, the service stops as at the recording's end but without the drain, and the
   * outputs are written for what was processed, the summary saying `interrupted`.
   */
  stop?: AbortSignal;
  /**
   * Called once the service has started, with its detector: a caller that exits the process early (a
   * second signal) waits for its inferences in flight first (DetectorPool.idle).
   */
  started?: (detect: { idle(timeoutMs: number): Promise<boolean> }) => void;
}

/** What a replay counted; the report shows the same figures. */
export interface ReplaySummary extends Omit<ReportSummary, 'title' | 'everyFrameMethod' | 'latencyMs'> {
  provider: string;
  byteRatio: number;
  /** Packages still in the queue file when the drain timed out (not sent later: the next replay on this --out starts a fresh queue). */
  undelivered: number;
  /** Packages the endpoint refused for good (dead letters: 4xx, a 409 for an id it holds another image under). */
  deadLettered: number;
  /** Queued packages replaced by a better image of the same objects ('replace-queued'): counted, never sent. */
  replaced: number;
  /** Oldest queued packages dropped to make room when the queue was full (queue.maxPackages / maxBytes). */
  queueDropped: number;
  /** Object segments the 'budget' policy gave up on (never sent: no budget within budgetMaxWaitS of their end). */
  unsentObjects: number;
  /** Source frames the captureHz grid did not take (A5). */
  framesSkipped: number;
  /** Frames a policy held past ringSeconds that kept their JPEG instead of their pixels (cameras[].heldFrames 'jpeg'). */
  framesHeldAsJpeg: number;
  latencyMs: { p50: number; p99: number; max: number; frames: number };
  reportPath?: string;
  /** Set when ReplayOptions.stop ended the replay before the recording did: the stop's reason (the signal). */
  interrupted?: string;
}

const jsonl = (v: unknown): string => `${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))}\n`;


export async function runReplay(options: ReplayOptions): Promise<ReplaySummary> {
  const { config, outDir } = options;
  if (config.cameras.length !== 1) throw new ConfigError('cameras', `replay runs one camera; the config has ${config.cameras.length}`);
  const cam = config.cameras[0]!;
  makeDirectory(outDir);
  const tracksOut = createWriteStream(join(outDir, 'tracks.jsonl'));
  const uploadsOut = createWriteStream(join(outDir, 'uploads.jsonl'));
  const t0 = performance.now();
  const uploads: UploadRecord[] = [];
  const latencies: number[] = [];
  // The run's images go straight to the report's images/ (one copy); a replay keeps all of them.
  const reportDir = config.report.dir ?? join(outDir, 'report');
  const images = options.report ? new RunImages(join(reportDir, 'images'), Number.MAX_SAFE_INTEGER) : undefined;
  const svc = await BestshotService.start({ config, mode: 'offline', logger: options.logger, measureEveryFrame: options.measureEveryFrame !== false });
  options.started?.(svc.detect);
  let processed = 0;
  svc.on('frame', (_id, r) => {
    processed++;
    latencies.push(r.latency.total);
    tracksOut.write(jsonl({ imageId: r.imageId, timestampNs: r.timestampNs, tracks: r.tracks }));
    options.progress?.(processed, uploads.length);
  });
  svc.on('upload', (u) => {
    images?.add(u);
    const { jpeg: _jpeg, crops, ...rest } = u;
    // The crops' rectangles, not their bytes (the report's images/ has those).
    const record = { ...rest, ...(crops ? { crops: crops.map((c) => ({ trackId: c.trackId, rect: c.rect, bytes: c.jpeg.byteLength })) } : {}) };
    uploads.push({ ...rest, jpeg: new Uint8Array() });
    uploadsOut.write(jsonl(record));
  });
  // A stop asked while the model loaded takes effect now; the service's stop ends the camera's loop, so done() resolves.
  let interrupted: string | undefined;
  const stopEarly = (): void => {
    interrupted = String(options.stop?.reason ?? 'stopped');
    void svc.stop();
  };
  if (options.stop?.aborted) stopEarly();
  else options.stop?.addEventListener('abort', stopEarly, { once: true });
  const status = svc.cameras.get(cam.id);
  await svc.done();
  if (status?.lastError !== undefined && (status.runner?.stats.processed ?? 0) === 0) {
    await svc.stop();
    throw new CaptureError(`Replay of camera '${cam.id}' failed: ${status.lastError}`);
  }
  const runner = status?.runner;
  // U2: wait (bounded) for the durable queue to deliver what the run selected.
  // Interrupted: no drain (the service's stop ends one already under way); what is queued is counted.
  const undelivered = interrupted === undefined ? await svc.drain(options.drainTimeoutMs ?? 120_000, options.draining) : 0;
  const provider = svc.provider;
  await svc.stop();
  options.stop?.removeEventListener('abort', stopEarly);
  const counts = svc.runCounts();
  await Promise.all([new Promise((r) => tracksOut.end(r)), new Promise((r) => uploadsOut.end(r))]);
  const stats = runner?.stats;
  const bytesSelected = uploads.reduce((a, u) => a + u.bytes, 0);
  const bytesEveryFrame = stats?.everyFrameBytes ?? 0;
  const summary: ReplaySummary = {
    cameraId: cam.id,
    source: cam.source.type === 'file' ? cam.source.path : cam.source.type,
    policy: cam.selection.policy,
    provider,
    framesCaptured: stats?.captured ?? 0,
    framesProcessed: stats?.processed ?? 0,
    framesDropped: stats ? Object.values(stats.dropped).reduce((a, v) => a + v, 0) : 0,
    objectsTracked: stats?.tracksCreated ?? 0,
    packagesImmediate: uploads.filter((u) => u.route === 'immediate').length,
    packagesCached: uploads.filter((u) => u.route === 'cached').length,
    bytesSelected,
    bytesEveryFrame,
    byteRatio: bytesSelected > 0 ? bytesEveryFrame / bytesSelected : 0,
    delivered: counts.delivered,
    undelivered: interrupted === undefined ? undelivered : counts.stillQueued,
    deadLettered: counts.deadLettered,
    replaced: counts.replaced,
    queueDropped: counts.queueDropped,
    unsentObjects: counts.packages.unsentObjects,
    framesSkipped: counts.frames.skipped,
    framesHeldAsJpeg: stats?.heldFramesCompacted ?? 0,
    latencyMs: { p50: latencyPercentile(latencies, 50), p99: latencyPercentile(latencies, 99), max: Math.max(0, ...latencies), frames: latencies.length },
    durationS: (performance.now() - t0) / 1000,
    ...(interrupted !== undefined ? { interrupted } : {}),
  };
  if (options.report && images) {
    // The gallery shows this run's own images (written to the report's images/ as they were selected).
    summary.reportPath = writeReport(
      reportDir,
      { ...summary, stillQueued: summary.undelivered, title: 'bestshot run report', everyFrameMethod: 'every processed frame JPEG-encoded at the same quality' },
      images.uploads(),
    );
  }
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2));
  return summary;
}
