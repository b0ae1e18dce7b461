/**
 * Evaluation inputs (docs/evaluation.md): a sequence of frames on the captureHz
 * grid (A5), each with its detections (D1/D2), its JPEG size and the
 * sharpness of every detection's crop where there are pixels, and its
 * ground-truth objects. Three sources of ground truth, always named:
 *
 * - 'mot-gt': MOTChallenge gt.txt (pedestrians; MOT17 class 1 with the
 *   consider flag, visibility from the file);
 * - 'sim-exact': the simulated camera's exact boxes (src/capture/sim);
 * - 'detector-fallback': for footage without labels, a high-threshold pass of
 *   the same detections (score ≥ 0.6 by default), tracked by its own
 *   ByteTracker, tracks of ≥ 5 frames = objects. It shares the detector's
 *   misses and its boxes, so coverage against it measures selection, not
 *   detection.
 */
import { sha256Hex } from '../hash.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { encodeJpeg, newGridId, openCapture, type RawImage } from '../capture/index.js';
import { SimulatedCamera } from '../capture/sim/camera.js';
import type { SimObjectClass } from '../capture/sim/scene.js';
import { ConfigError, requireNumber } from '../errors.js';
import { DEFAULT_MANIFEST_PATH, loadManifest, resolveModelPath, tensorOptionsFor, TRAFFIC_CLASSES, type Detector } from '../detect/index.js';
import { framesOutsideWarning, groupByFrame, readMotDetections, readMotFile, readSeqInfo, sequenceGeometry, type MotRow } from '../mot/index.js';
import { BYTETRACK_OPTIONS, ByteTracker } from '../track/index.js';
import type { Box, GridTick } from '../types.js';
import { cropRectWithMargin, cutCrop, frameCropStats, type CropStats } from '../select/crop-stats.js';
import { BT601_LIMITED } from '../capture/yuv.js';
import { cropRect, laplacianVariance, type CenterBox, type CropImage } from './metrics.js';
import { makeDirectory } from '../process-lock.js';

export type GroundTruthKind = 'mot-gt' | 'sim-exact' | 'detector-fallback';
export type InputKind = 'clip' | 'mot' | 'sim';

/** One ground-truth object in one frame. */
export interface GtObservation {
  objectId: string;
  /** The object's full extent, px (may reach beyond the image when clipped). */
  box: CenterBox;
  /** Visible enough to count (MOT17: visibility ≥ visibilityMin; sim: occluded ≤ 0.5; otherwise true). */
  visible: boolean;
}

export interface EvalFrame {
  /** 0, 1, 2… in capture order (A5). */
  imageId: number;
  timestampNs: bigint;
  detections: Box[];
  /** Size of the frame as JPEG (quality 85); null without images. */
  jpegBytes: number | null;
  /** Laplacian variance of each detection's crop (same order as detections); null without images. */
  sharpness: number[] | null;
  /** Crop measures of each detection (select/crop-stats.ts; same order as detections); null without images. */
  crops?: CropStats[] | null;
  /**
   * upload.content 'crops' / 'frame+crops': JPEG bytes of each detection's
   * upload crop (margin CROP_MARGIN, full resolution, quality CROP_JPEG_QUALITY)
   * and of the frame at CONTEXT_JPEG_QUALITY; absent without images.
   */
  cropJpegBytes?: number[];
  contextJpegBytes?: number;
  gt: GtObservation[];
  /** A5: the captureHz tick the frame was taken for (GridSampler), as the runtime hands the tracker. */
  gridTick?: GridTick;
}

export interface EvalInput {
  name: string;
  kind: InputKind;
  path: string;
  width: number;
  height: number;
  /** captureHz the frames were taken at (A5). */
  hz: number;
  groundTruth: GroundTruthKind;
  /** Where the detections come from, in words. */
  detectionSource: string;
  frames: EvalFrame[];
  notes: string[];
}

/**
 * A5 on a recorded stream: keep the first frame at or after each tick of the
 * captureHz grid (t0, t0 + 1/hz, …), the grid anchored at the first frame's
 * timestamp. A source slower than hz keeps every frame.
 */
export class GridSampler {
  readonly periodNs: bigint;
  /** This grid's id (FrameDetections.gridTick.grid). */
  readonly id = newGridId();
  #t0: bigint | undefined;
  #next = 0n;

  constructor(hz: number) {
    this.periodNs = BigInt(Math.round(1e9 / requireNumber('positive number', 'hz', hz)));
  }

  take(timestampNs: bigint): boolean {
    if (this.#t0 === undefined) this.#t0 = timestampNs;
    const t = timestampNs - this.#t0;
    // 1 ms tolerance: container timestamps are rounded.
    if (t + 1_000_000n < this.#next) return false;
    while (this.#next <= t + 1_000_000n) this.#next += this.periodNs;
    return true;
  }

  /**
   * The tick of the frame take() took last, as the runtime's StreamGrid
   * counts it (the latest tick at or before the frame, within the 1 ms
   * tolerance): the frame periods between taken frames are tick differences.
   */
  get tick(): GridTick {
    return { grid: this.id, index: Number(this.#next / this.periodNs) - 1 };
  }
}

// ---------------------------------------------------------------- MOTChallenge

export interface MotInputOptions {
  /** captureHz (A5). Default 10. */
  hz?: number;
  /** MOT17 visibility an object needs to count as visible. Default 0.5. */
  visibilityMin?: number;
  /** Fallback ground truth (no gt.txt): minimum detection score. Default 0.6. */
  fallbackMinScore?: number;
  /** Fallback ground truth: minimum track length in frames. Default 5. */
  fallbackMinFrames?: number;
}

function motBox(r: MotRow): CenterBox {
  return { cx: r.left + r.width / 2, cy: r.top + r.height / 2, w: r.width, h: r.height };
}

/**
 * MOT16/17/20 gt.txt carries class and visibility in columns 8–9; MOT15's
 * carries world coordinates there (or −1). MOT17-style when every row has an
 * integer class ≥ 1 and a visibility in 0..1.
 */
export function isMot17Gt(rows: readonly MotRow[]): boolean {
  return rows.length > 0 && rows.every((r) => Number.isInteger(r.classId) && r.classId >= 1 && r.visibility >= 0 && r.visibility <= 1);
}

/**
 * gt.txt rows that count: MOT16/17 pedestrians (class 1) with the consider
 * flag; MOT15 rows with a non-zero flag, their class and visibility reset to
 * −1 (unknown: columns 8–9 are world coordinates there).
 */
export function consideredGtRows(rows: readonly MotRow[]): MotRow[] {
  if (isMot17Gt(rows)) return rows.filter((r) => r.conf !== 0 && r.classId === 1);
  return rows.filter((r) => r.conf !== 0).map((r) => ({ ...r, classId: -1, visibility: -1 }));
}

/**
 * A MOTChallenge sequence (no images): detections from det/det.txt, or, when
 * there is none (MOT17 here), the gt boxes as detections with the visibility
 * as score; ground truth from gt/gt.txt, or the detector fallback.
 */
export function loadMotInput(dir: string, options: MotInputOptions = {}): EvalInput {
  const hz = requireNumber('positive number', 'hz', options.hz ?? 10);
  const name = basename(dir);
  const info = readSeqInfo(dir);
  const { frameRate, width, height } = sequenceGeometry(dir, info);
  const detPath = join(dir, 'det', 'det.txt');
  const gtPath = join(dir, 'gt', 'gt.txt');
  const gtRows = existsSync(gtPath) ? consideredGtRows(readMotFile(gtPath)) : null;
  const hasDet = existsSync(detPath);
  if (!hasDet && gtRows === null) throw new ConfigError(dir, 'neither det/det.txt nor gt/gt.txt found');
  const detections = hasDet ? readMotDetections(detPath) : { rows: gtRows!, warnings: [] };
  const detRows = detections.rows;
  const numFrames = info?.seqLength ?? [...detRows, ...(gtRows ?? [])].reduce((m, r) => Math.max(m, r.frame), 0);
  const detByFrame = groupByFrame(detRows, numFrames);
  const gtByFrame = gtRows ? groupByFrame(gtRows, numFrames) : null;
  const visMin = options.visibilityMin ?? 0.5;
  const sampler = new GridSampler(hz);
  const frames: EvalFrame[] = [];
  for (let f = 1; f <= numFrames; f++) {
    const t = BigInt(Math.round(((f - 1) * 1e9) / frameRate));
    if (!sampler.take(t)) continue;
    const detections: Box[] = detByFrame[f - 1]!.map((r) => ({
      ...motBox(r),
      angle: 0,
      classId: 0,
      label: 'person',
      score: hasDet ? r.conf : r.visibility >= 0 ? r.visibility : 1,
    }));
    const gt: GtObservation[] = (gtByFrame?.[f - 1] ?? []).map((r) => ({
      objectId: String(r.id),
      box: motBox(r),
      visible: r.visibility < 0 || r.visibility >= visMin,
    }));
    frames.push({ imageId: frames.length, timestampNs: t, detections, jpegBytes: null, sharpness: null, crops: null, gt, gridTick: sampler.tick });
  }
  const input: EvalInput = {
    name,
    kind: 'mot',
    path: dir,
    width,
    height,
    hz,
    groundTruth: gtRows ? 'mot-gt' : 'detector-fallback',
    detectionSource: hasDet ? 'det/det.txt (public detections)' : 'gt boxes as detections (score = visibility); no det.txt',
    frames,
    notes: [`${numFrames} frames at ${frameRate} fps, ${frames.length} on the ${hz} Hz grid; no images: bytes are not measured`],
  };
  if (!info) input.notes.push('frame rate and size from MOTChallenge seqinfo (not in the shared data)');
  const outside = hasDet ? framesOutsideWarning(detRows, numFrames, detPath) : null;
  for (const w of outside === null ? detections.warnings : [...detections.warnings, outside]) input.notes.push(`warning: ${w}`);
  if (!gtRows) applyFallbackGroundTruth(input, options.fallbackMinScore, options.fallbackMinFrames);
  return input;
}

/**
 * The detector fallback ground truth: detections with score ≥ minScore,
 * tracked by a fresh ByteTracker at the input's hz; every track with at least
 * minFrames entries is an object, observed at each of its entries (visible).
 * Replaces the frames' gt. The tracker is plain ByteTrack (none of the
 * options under test) with T1's default class groups: an object is one
 * physical object, whatever label the detector flickers between.
 */
export function applyFallbackGroundTruth(input: EvalInput, minScore = 0.6, minFrames = 5): void {
  const tracker = new ByteTracker({ ...BYTETRACK_OPTIONS, classGroups: 'default', frameRate: input.hz });
  const obs = new Map<number, Array<{ frame: number; box: CenterBox }>>();
  for (let i = 0; i < input.frames.length; i++) {
    const f = input.frames[i]!;
    const tracks = tracker.update({
      cameraId: 'fallback-gt',
      imageId: f.imageId,
      timestampNs: f.timestampNs,
      exposureMode: 'manual',
      cameraPosition: null,
      width: input.width,
      height: input.height,
      boxes: f.detections.filter((b) => b.score >= minScore),
    });
    for (const t of tracks) {
      const e = t.entries[t.entries.length - 1]!;
      if (e.timestampNs !== f.timestampNs) continue;
      let list = obs.get(t.trackId);
      if (!list) obs.set(t.trackId, (list = []));
      list.push({ frame: i, box: { cx: e.box.cx, cy: e.box.cy, w: e.box.w, h: e.box.h } });
    }
  }
  for (const f of input.frames) f.gt = [];
  let objects = 0;
  for (const [id, list] of obs) {
    if (list.length < minFrames) continue;
    objects++;
    for (const o of list) input.frames[o.frame]!.gt.push({ objectId: `fb${id}`, box: o.box, visible: true });
  }
  input.groundTruth = 'detector-fallback';
  input.notes.push(`fallback ground truth: detections with score ≥ ${minScore}, tracked, tracks of ≥ ${minFrames} frames = ${objects} objects`);
}

// ---------------------------------------------------------------- clips

export interface ClipInputOptions {
  /** captureHz (A5). Default 10. */
  hz?: number;
  /** JPEG quality of the packages. Default 85 (encodeJpeg's default). */
  jpegQuality?: number;
  /** Returns the detector (created only when the cache misses). */
  detector: () => Promise<Detector>;
  /** Where detections are cached (keyed by clip sha, model sha, hz). Default: no cache. */
  cacheDir?: string;
  /** Stop after this many frames on the grid (tests). Default: the whole clip (the cache key names it). */
  maxFrames?: number;
  fallbackMinScore?: number;
  fallbackMinFrames?: number;
  /**
   * Pixel format the clip is captured in: 'I420' (default, the runtime's
   * cameras[].pixelFormat) or 'BGR' (the runtime before, a robustness check:
   * the tensor, and so the detections, differ by the colour conversion).
   */
  pixelFormat?: 'I420' | 'BGR';
}

interface CacheFile {
  version: number;
  clip: string;
  clipSha256: string;
  modelSha256: string;
  hz: number;
  jpegQuality: number;
  width: number;
  height: number;
  /** crop: [sharpness, highlights, shadows, mean] per box (select/crop-stats.ts); sharpness null for NaN. */
  frames: Array<{ t: string; jpeg: number; boxes: Box[]; sharp: number[]; crop: Array<[number | null, number, number, number]>; cropJpeg: number[]; ctxJpeg: number }>;
}

const CACHE_VERSION = 7; // 4: frames captured as I420, as the runtime does; 5: detected on the frame's window of the input (model.fitInput), as the runtime does; 6: JPEG sizes of JFIF 4:2:0 JPEGs, as the runtime encodes them; 7: the context frame at upload.contextMaxWidth, and JPEGs that no longer read stale memory at widths not a multiple of 16

/** JPEG quality of the upload crops in the evaluation (upload.cropJpegQuality's default). */
export const CROP_JPEG_QUALITY = 90;
/** JPEG quality of the context frame of 'frame+crops' in the evaluation (upload.contextJpegQuality's default). */
export const CONTEXT_JPEG_QUALITY = 40;
/** Width the context frame is scaled down to in the evaluation (upload.contextMaxWidth's default). */
export const CONTEXT_MAX_WIDTH = 640;

/** JPEG bytes of each box's upload crop and of the low-quality context frame, cut and encoded as the runtime does (camera-runner.ts #images). */
async function contentBytes(frame: RawImage, boxes: readonly Box[]): Promise<{ cropJpeg: number[]; ctxJpeg: number }> {
  const cropJpeg: number[] = [];
  for (const b of boxes) {
    const box = cropRectWithMargin(b, frame.width, frame.height);
    cropJpeg.push(box === null ? 0 : (await encodeJpeg(cutCrop(frame, box).image, { quality: CROP_JPEG_QUALITY })).length);
  }
  const ctxJpeg = (await encodeJpeg(frame, { quality: CONTEXT_JPEG_QUALITY, maxWidth: CONTEXT_MAX_WIDTH })).length;
  return { cropJpeg, ctxJpeg };
}

function packCrop(s: CropStats): [number | null, number, number, number] {
  return [Number.isFinite(s.sharpness) ? s.sharpness : null, s.highlights, s.shadows, s.mean];
}

function unpackCrop(c: [number | null, number, number, number]): CropStats {
  return { sharpness: c[0] ?? NaN, highlights: c[1], shadows: c[2], mean: c[3] };
}

function fileSha256(path: string): string {
  return sha256Hex(readFileSync(path));
}

/** The sha256 of the default model file (what the cache key names). */
export function defaultModelSha256(): string {
  const manifest = loadManifest(DEFAULT_MANIFEST_PATH);
  return fileSha256(resolveModelPath(manifest.file));
}

/** Laplacian variance of every box's crop in a packed BGR frame. */
export function cropSharpness(image: CropImage, boxes: readonly CenterBox[]): number[] {
  return boxes.map((b) => laplacianVariance(image, cropRect(b, image.width, image.height)));
}

/** Tight BGR copy of a frame whose rows may be padded. */
function tightBgr(pixels: Uint8Array, width: number, height: number, stride: number): Uint8Array {
  if (stride === width * 3) return pixels;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) out.set(pixels.subarray(y * stride, y * stride + width * 3), y * width * 3);
  return out;
}

/**
 * A recorded clip: decoded with the capture pipeline, frames on the hz grid
 * detected once (traffic classes), each frame's JPEG size measured and each
 * detection's crop sharpness computed from the decoded pixels. Ground truth
 * is the detector fallback (no labels exist for these clips).
 */
export async function loadClipInput(path: string, options: ClipInputOptions): Promise<EvalInput> {
  const hz = requireNumber('positive number', 'hz', options.hz ?? 10);
  const quality = options.jpegQuality ?? 85;
  const name = basename(path).replace(/\.[^.]+$/, '');
  if (!existsSync(path)) throw new ConfigError(path, 'file not found');
  let cacheFile: string | undefined;
  let data: CacheFile | undefined;
  if (options.cacheDir !== undefined) {
    const clipSha = fileSha256(path);
    const modelSha = defaultModelSha256();
    const part = options.maxFrames === undefined ? '' : `-n${options.maxFrames}`;
    const format = options.pixelFormat === 'BGR' ? '-bgr' : '';
    cacheFile = join(options.cacheDir, `${name}-${clipSha.slice(0, 16)}-${modelSha.slice(0, 16)}-${hz}hz-q${quality}${part}${format}-v${CACHE_VERSION}.json`);
    if (existsSync(cacheFile)) data = JSON.parse(readFileSync(cacheFile, 'utf8')) as CacheFile;
    data ??= await decodeClip(path, name, hz, quality, options, clipSha, modelSha);
    makeDirectory(options.cacheDir);
    if (!existsSync(cacheFile)) writeFileSync(cacheFile, JSON.stringify(data));
  } else {
    data = await decodeClip(path, name, hz, quality, options, '', '');
  }
  // The cache keeps the frames the grid took: the same grid over their timestamps takes each again and gives its tick.
  const ticks = new GridSampler(hz);
  const frames: EvalFrame[] = data.frames.map((f, i) => ({
    imageId: i,
    timestampNs: BigInt(f.t),
    ...(ticks.take(BigInt(f.t)) ? { gridTick: ticks.tick } : {}),
    detections: f.boxes,
    jpegBytes: f.jpeg,
    sharpness: f.sharp.map((v: number | null) => (v === null ? NaN : v)),
    crops: f.crop.map(unpackCrop),
    cropJpegBytes: f.cropJpeg,
    contextJpegBytes: f.ctxJpeg,
    gt: [],
  }));
  const input: EvalInput = {
    name,
    kind: 'clip',
    path,
    width: data.width,
    height: data.height,
    hz,
    groundTruth: 'detector-fallback',
    detectionSource: `YOLOX-Nano (CPU), traffic classes, JPEG quality ${quality}${cacheFile ? '' : ', not cached'}`,
    frames,
    notes: [`${frames.length} frames on the ${hz} Hz grid`],
  };
  applyFallbackGroundTruth(input, options.fallbackMinScore, options.fallbackMinFrames);
  return input;
}

async function decodeClip(
  path: string,
  name: string,
  hz: number,
  quality: number,
  options: ClipInputOptions,
  clipSha: string,
  modelSha: string,
): Promise<CacheFile> {
  const detector = await options.detector();
  // The runtime's capture (cameras[].pixelFormat default i420): the same tensor, crop measures and JPEGs as a camera.
  const format = options.pixelFormat ?? 'I420';
  const source = openCapture({ source: { type: 'file', path }, format, tensor: tensorOptionsFor(detector.manifest) });
  const sampler = new GridSampler(hz);
  const frames: CacheFile['frames'] = [];
  let width = 0;
  let height = 0;
  try {
    for await (const f of source) {
      try {
        const t = f.ptsNs >= 0n ? f.ptsNs : BigInt(f.sequence) * BigInt(Math.round(1e9 / hz));
        if (!sampler.take(t)) continue;
        width = f.width;
        height = f.height;
        const boxes = await detector.detect({ tensor: f.tensor!, letterbox: f.letterbox!, frameWidth: f.width, frameHeight: f.height });
        const image =
          format === 'I420'
            ? { width: f.width, height: f.height, channels: 3 as const, format, yuv: f.yuv ?? BT601_LIMITED, pixels: f.pixels }
            : { width: f.width, height: f.height, channels: 3 as const, format, pixels: tightBgr(f.pixels, f.width, f.height, f.stride) };
        const jpeg = await encodeJpeg(image, { quality });
        const sharp = cropSharpness(image, boxes);
        const crop = frameCropStats(image, boxes).map(packCrop);
        frames.push({ t: t.toString(), jpeg: jpeg.length, boxes, sharp, crop, ...(await contentBytes(image, boxes)) });
      } finally {
        source.releaseTensor(f);
      }
      if (options.maxFrames !== undefined && frames.length >= options.maxFrames) break;
    }
  } finally {
    source.close();
  }
  return { version: CACHE_VERSION, clip: name, clipSha256: clipSha, modelSha256: modelSha, hz, jpegQuality: quality, width, height, frames };
}

// ---------------------------------------------------------------- simulated camera

export interface SimInputOptions {
  /** Seconds of scene. Default 30. */
  durationS?: number;
  /** captureHz (A5). Default 10. */
  hz?: number;
  /** Scene seed. Default 1. */
  seed?: number;
  /** Manual exposure (A2): time, µs. Default 1000 (SPEC T_manual). */
  exposureTimeUs?: number;
  /** Manual gain. Default 12: brightness close to what the sim's AE settles at (~12 ms at gain 1). */
  gain?: number;
  jpegQuality?: number;
}

const SIM_LABEL: Record<SimObjectClass, string> = { car: 'car', truck: 'truck', bicycle: 'bicycle', pedestrian: 'person' };

/**
 * The simulated camera's default four-lane scene rendered on the hz grid in
 * manual exposure, with its exact boxes as ground truth. Detections are the
 * ground truth itself ("GT as detections"): the box clipped to the image,
 * score 0.9 × in-frame fraction × (1 − occluded fraction) — YOLOX-Nano does
 * not find the sim's flat-shaded vehicles, so the detector would measure the
 * renderer, not selection. Pixels are real renders: JPEG sizes and crop
 * sharpness are measured on them.
 */
export async function loadSimInput(options: SimInputOptions = {}): Promise<EvalInput> {
  const hz = requireNumber('positive number', 'hz', options.hz ?? 10);
  const durationS = requireNumber('positive number', 'durationS', options.durationS ?? 30);
  const exposureTimeUs = requireNumber('positive number', 'exposureTimeUs', options.exposureTimeUs ?? 1000);
  const gain = requireNumber('positive number', 'gain', options.gain ?? 12);
  const quality = options.jpegQuality ?? 85;
  const cam = new SimulatedCamera({ seed: options.seed ?? 1 });
  const W = cam.width;
  const H = cam.height;
  const periodNs = BigInt(Math.round(1e9 / hz));
  const n = Math.floor(durationS * hz);
  const grid = newGridId();
  const frames: EvalFrame[] = [];
  for (let k = 0; k < n; k++) {
    const t = BigInt(k) * periodNs;
    const r = cam.render(t, { exposureTimeUs, gain, mode: 'manual' });
    const gt: GtObservation[] = [];
    const detections: Box[] = [];
    for (const o of r.objects) {
      if (o.inFrame <= 0) continue;
      gt.push({ objectId: `${o.id}.${o.pass}`, box: { cx: o.cx, cy: o.cy, w: o.w, h: o.h }, visible: o.occluded <= 0.5 });
      const x0 = Math.max(0, o.cx - o.w / 2);
      const x1 = Math.min(W, o.cx + o.w / 2);
      const y0 = Math.max(0, o.cy - o.h / 2);
      const y1 = Math.min(H, o.cy + o.h / 2);
      const score = 0.9 * o.inFrame * (1 - o.occluded);
      if (x1 - x0 < 2 || y1 - y0 < 2 || score <= 0.1) continue;
      const label = SIM_LABEL[o.cls];
      detections.push({ cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, w: x1 - x0, h: y1 - y0, angle: 0, classId: TRAFFIC_CLASSES.indexOf(label), label, score });
    }
    const jpeg = await encodeJpeg({ width: W, height: H, format: 'BGR', pixels: r.pixels }, { quality });
    const image = { width: W, height: H, channels: 3 as const, pixels: r.pixels };
    const sharpness = cropSharpness(image, detections);
    const content = await contentBytes({ width: W, height: H, format: 'BGR', pixels: r.pixels }, detections);
    frames.push({
      imageId: k,
      timestampNs: t,
      gridTick: { grid, index: k },
      detections,
      jpegBytes: jpeg.length,
      sharpness,
      crops: frameCropStats(image, detections),
      cropJpegBytes: content.cropJpeg,
      contextJpegBytes: content.ctxJpeg,
      gt,
    });
  }
  cam.close();
  return {
    name: 'sim-four-lane',
    kind: 'sim',
    path: 'simulated camera (default scene)',
    width: W,
    height: H,
    hz,
    groundTruth: 'sim-exact',
    detectionSource: 'exact boxes as detections (clipped to the image, score 0.9 × in-frame × unoccluded)',
    frames,
    notes: [`${durationS} s of the default scene, manual exposure ${exposureTimeUs} µs × gain ${gain}, ${n} frames at ${hz} Hz`],
  };
}
