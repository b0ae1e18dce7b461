/**
 * Offline run on a recording (bestshot replay / the demo): the full pipeline
 * in 'offline' mode (no frame dropped for being late), writing
 *   tracks.jsonl   — every frame's track entries (T3),
 *   uploads.jsonl  — every package handed to the uploader (the upload log),
 *   summary.json   — counts, bytes, latency,
 *   report/        — the HTML report (with --report),
 * and waiting until the queue has delivered what the run selected.
 */
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BestshotConfig } from '../config/index.js';
import { CaptureError } from '../errors.js';
import { BestshotService, type RuntimeLogger } from './service.js';
import { writeReport, type ReportSummary, type ReportUpload } from './report.js';
import type { UploadRecord } from './camera-runner.js';

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
}

/** What a replay counted; the report shows the same figures. */
export interface ReplaySummary extends Omit<ReportSummary, 'title' | 'everyFrameMethod' | 'latencyMs'> {
  provider: string;
  byteRatio: number;
  undelivered: number;
  latencyMs: { p50: number; p99: number; max: number };
  reportPath?: string;
}

const jsonl = (v: unknown): string => `${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))}\n`;

function pct(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export async function runReplay(options: ReplayOptions): Promise<ReplaySummary> {
  const { config, outDir } = options;
  if (config.cameras.length !== 1) throw new Error(`replay runs one camera; the config has ${config.cameras.length}`);
  const cam = config.cameras[0]!;
  mkdirSync(outDir, { recursive: true });
  const tracksOut = createWriteStream(join(outDir, 'tracks.jsonl'));
  const uploadsOut = createWriteStream(join(outDir, 'uploads.jsonl'));
  const t0 = performance.now();
  const uploads: UploadRecord[] = [];
  const latencies: number[] = [];
  const svc = await BestshotService.start({ config, mode: 'offline', logger: options.logger, measureEveryFrame: options.measureEveryFrame !== false });
  let processed = 0;
  svc.on('frame', (_id, r) => {
    processed++;
    latencies.push(r.latency.total);
    tracksOut.write(jsonl({ imageId: r.imageId, timestampNs: r.timestampNs, tracks: r.tracks }));
    options.progress?.(processed, uploads.length);
  });
  svc.on('upload', (u) => {
    uploads.push(u);
    uploadsOut.write(jsonl({ ...u, tracks: u.tracks }));
  });
  const status = svc.cameras.get(cam.id);
  await svc.done();
  if (status?.lastError !== undefined && (status.runner?.stats.processed ?? 0) === 0) {
    await svc.stop();
    throw new CaptureError(`Replay of camera '${cam.id}' failed: ${status.lastError}`);
  }
  const runner = status?.runner;
  // Wait for the durable queue to deliver what the run selected.
  const deadline = Date.now() + (options.drainTimeoutMs ?? 120_000);
  while (svc.uploader && svc.uploader.stats().queueDepth + svc.uploader.stats().immediateInFlight + svc.uploader.stats().immediatePending > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const up = svc.uploader?.stats();
  const delivered = svc.receiver?.stats().stored ?? up?.delivered ?? 0;
  const provider = svc.provider;
  await svc.stop();
  await Promise.all([new Promise((r) => tracksOut.end(r)), new Promise((r) => uploadsOut.end(r))]);
  const stats = runner?.stats;
  const bytesSent = uploads.reduce((a, u) => a + u.bytes, 0);
  const bytesEveryFrame = stats?.everyFrameBytes ?? 0;
  const summary: ReplaySummary = {
    cameraId: cam.id,
    source: cam.source.type === 'file' ? cam.source.path : cam.source.type,
    policy: cam.selection.policy,
    provider,
    framesCaptured: stats?.captured ?? 0,
    framesProcessed: stats?.processed ?? 0,
    framesDropped: stats ? Object.entries(stats.dropped).reduce((a, [k, v]) => (k === 'rate' ? a : a + v), 0) : 0,
    objectsTracked: stats?.tracksCreated ?? 0,
    packagesImmediate: uploads.filter((u) => u.route === 'immediate').length,
    packagesCached: uploads.filter((u) => u.route === 'cached').length,
    bytesSent,
    bytesEveryFrame,
    byteRatio: bytesSent > 0 ? bytesEveryFrame / bytesSent : 0,
    delivered,
    undelivered: up ? up.queueDepth : 0,
    latencyMs: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: Math.max(0, ...latencies) },
    durationS: (performance.now() - t0) / 1000,
  };
  if (options.report) {
    const reportDir = config.report.dir ?? join(outDir, 'report');
    const withImages: ReportUpload[] = uploads.map((u) => ({
      ...u,
      width: 0,
      height: 0,
      jpeg: new Uint8Array(),
    }));
    // The gallery shows what the cloud received: images come from the embedded receiver's store.
    const receiverDir = config.receiver.embedded ? config.receiver.dir : undefined;
    for (const u of withImages) {
      if (!receiverDir) continue;
      const dir = join(receiverDir, 'packages', encodeURIComponent(u.idempotencyKey));
      try {
        u.jpeg = readFileSync(join(dir, 'image.jpg'));
        const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as { width: number; height: number };
        u.width = meta.width;
        u.height = meta.height;
      } catch {
        // not delivered (yet): left out of the gallery
      }
    }
    summary.reportPath = writeReport(
      reportDir,
      { ...summary, title: 'bestshot run report', everyFrameMethod: 'every processed frame JPEG-encoded at the same quality' },
      withImages.filter((u) => u.jpeg.byteLength > 0),
    );
  }
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2));
  return summary;
}
