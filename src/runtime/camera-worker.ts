/**
 * Tracking and selection worker (piscina). Each camera's tracker and
 * selection policy live in exactly one worker (the runtime pins a camera to
 * one single-thread pool), so state never hops between threads. The main
 * thread keeps the pixels; this worker sees boxes and ids, and — for the
 * policies that rank by image quality — reads the boxes' crops from the
 * frame's shared-memory view (STYLE 8: no copy, no per-pixel work on the
 * main thread).
 *
 * If the worker dies, the next task re-creates the camera's state from the
 * task's `init` (tracks restart; ids continue above `trackIdFloor`, so a
 * trackId is never reused — T2).
 */
import type { Track, TrackEntry, FrameDetections } from '../types.js';
import { ByteTracker, createIdAllocator, type TrackerOptions } from '../track/index.js';
import { BudgetPolicy, createPolicy, cropStats, optionsOf, type CropStats, type PolicyDecision, type PolicyName, type PolicyOptions, type SelectionPolicy } from '../select/index.js';
import { createProjector, type Calibration } from '../geo/index.js';
import type { PixelFormat, YuvMatrix } from '../capture/options.js';

export interface CameraWorkerInit {
  cameraId: string;
  tracker: TrackerOptions;
  policy: PolicyName;
  policyOptions: Omit<PolicyOptions, 'refs'>;
  calibration: Calibration | null;
  /** Lowest trackId the (re)created tracker may hand out. */
  trackIdFloor: number;
}

export type RefOp = readonly ['retain' | 'release', number];

export interface WireDecision {
  kind: 'upload' | 'replace';
  route: 'immediate' | 'cached';
  imageId: number;
  timestampNs: bigint;
  selectedTrackIds: number[];
  replacesImageIds: number[];
  /** SelectionPolicy.cropsOf of the deciding policy (which tracks a crops package shows). */
  cropsOf?: 'selected';
  /** Every track with an entry at this image's timestamp (the package's tracks). */
  tracks: Array<{ trackId: number; entry: TrackEntry }>;
}

/**
 * A view of the frame's pixels in shared memory (the frame ring's pixel
 * slot, STYLE 8): the worker reads the boxes' crops for the quality score
 * (select/crop-stats.ts) while the ring keeps the frame. Absent when the
 * pixels are not in a SharedArrayBuffer (no copy is ever made for it).
 */
export interface SharedFrameView {
  width: number;
  height: number;
  stride: number;
  format: PixelFormat;
  /** I420 frames: how their Y'CbCr maps to R'G'B'. */
  yuv?: YuvMatrix;
  pixels: Uint8Array;
}

export interface CameraTask {
  op: 'frame' | 'flush' | 'drop-state';
  init: CameraWorkerInit;
  detections?: FrameDetections;
  image?: SharedFrameView;
  /**
   * [imageId, bytes] of the packages built since the last task: what each
   * decision's package took once encoded (SelectionPolicy.onPackageBytes;
   * 'budget' pays real bytes with them).
   */
  packageBytes?: ReadonlyArray<readonly [number, number]>;
}

export interface CameraTaskResult {
  /** True when this task had to create the camera's state (first task, or after a worker crash). */
  created: boolean;
  decisions: WireDecision[];
  refOps: RefOp[];
  /** Tracks with an entry in this frame. */
  frameTracks: Array<{ trackId: number; entry: TrackEntry }>;
  activeTracks: number;
  newTrackIds: number[];
  endedTrackIds: number[];
  maxTrackId: number;
  trackMs: number;
  selectMs: number;
  /** Objects the policy gave up on since the last task, never sent ('budget': not affordable in budgetMaxWaitS). */
  unsentObjects: number;
}

interface CameraState {
  tracker: ByteTracker;
  policy: SelectionPolicy;
  /** The policy ranks by the quality score (reads crop measures). */
  readsPixels: boolean;
  refOps: RefOp[];
  live: Map<number, Track>;
  maxTrackId: number;
  /** The policy's count of objects given up on, as last reported. */
  unsentReported: number;
}

const cameras = new Map<string, CameraState>();

function createState(init: CameraWorkerInit): CameraState {
  const refOps: RefOp[] = [];
  const project = init.calibration ? createProjector(init.calibration) : undefined;
  const tracker = new ByteTracker(init.tracker, { ids: createIdAllocator(init.trackIdFloor), project });
  const policy = createPolicy(init.policy, {
    ...init.policyOptions,
    refs: { retain: (id) => refOps.push(['retain', id]), release: (id) => refOps.push(['release', id]) },
  });
  const readsPixels = optionsOf(init.policy).includes('weightSharpness');
  return { tracker, policy, readsPixels, refOps, live: new Map(), maxTrackId: init.trackIdFloor - 1, unsentReported: 0 };
}

/** The policy's own count of objects it gave up on (only 'budget' gives up on objects). */
function unsentCount(policy: SelectionPolicy): number {
  return policy instanceof BudgetPolicy ? policy.counters.dropped : 0;
}

/** The entry of `track` at `timestampNs` (searching back from the newest). */
function entryAtTime(track: Track, timestampNs: bigint): TrackEntry | undefined {
  for (let i = track.entries.length - 1; i >= 0; i--) {
    const e = track.entries[i]!;
    if (e.timestampNs === timestampNs) return e;
    if (e.timestampNs < timestampNs) return undefined;
  }
  return undefined;
}

function toWire(d: PolicyDecision, state: CameraState, ended: Map<number, Track>): WireDecision {
  const tracks: Array<{ trackId: number; entry: TrackEntry }> = [];
  const seen = new Set<number>();
  for (const source of [state.live, ended]) {
    for (const t of source.values()) {
      if (seen.has(t.trackId)) continue;
      const e = entryAtTime(t, d.timestampNs);
      if (e) {
        tracks.push({ trackId: t.trackId, entry: e });
        seen.add(t.trackId);
      }
    }
  }
  // A held frame's selecting objects are always in the package, even if their tracks were capped.
  for (const s of d.selected) if (!seen.has(s.trackId)) tracks.push({ trackId: s.trackId, entry: s.entry });
  tracks.sort((a, b) => a.trackId - b.trackId);
  const route = d.route;
  return {
    kind: d.kind,
    route,
    imageId: d.imageId,
    timestampNs: d.timestampNs,
    selectedTrackIds: d.selected.map((s) => s.trackId),
    replacesImageIds: d.kind === 'replace' ? d.replacesImageIds : [],
    ...(state.policy.cropsOf !== undefined ? { cropsOf: state.policy.cropsOf } : {}),
    tracks,
  };
}

export default function run(task: CameraTask): CameraTaskResult {
  const { init } = task;
  let state = cameras.get(init.cameraId);
  const created = state === undefined;
  if (task.op === 'drop-state') {
    cameras.delete(init.cameraId);
    return emptyResult(false, state?.maxTrackId ?? init.trackIdFloor - 1);
  }
  if (!state) {
    state = createState(init);
    cameras.set(init.cameraId, state);
  }
  state.refOps.length = 0;
  for (const [imageId, bytes] of task.packageBytes ?? []) state.policy.onPackageBytes?.(imageId, bytes);
  const decisions: PolicyDecision[] = [];
  const ended = new Map<number, Track>();
  let frameTracks: Array<{ trackId: number; entry: TrackEntry }> = [];
  const newTrackIds: number[] = [];
  let trackMs = 0;
  let selectMs = 0;
  if (task.op === 'frame' && task.detections) {
    const det = task.detections;
    const t0 = performance.now();
    const tracks = state.tracker.update(det);
    const alive = state.tracker.liveTracks;
    trackMs = performance.now() - t0;
    const aliveIds = new Set(alive.map((t) => t.trackId));
    for (const [id, t] of state.live) if (!aliveIds.has(id)) ended.set(id, t);
    for (const t of tracks) if (!state.live.has(t.trackId)) newTrackIds.push(t.trackId);
    for (const t of alive) {
      // Only tracks the tracker has reported (activated) are followed here.
      if (state.live.has(t.trackId) || newTrackIds.includes(t.trackId)) state.live.set(t.trackId, t);
      if (t.trackId > state.maxTrackId) state.maxTrackId = t.trackId;
    }
    for (const id of ended.keys()) state.live.delete(id);
    const t1 = performance.now();
    const crops = state.readsPixels && task.image ? measureCrops(task.image, det.boxes) : undefined;
    decisions.push(
      ...state.policy.onFrame({ imageId: det.imageId, timestampNs: det.timestampNs, width: det.width, height: det.height, ...(crops ? { crops } : {}) }, tracks),
    );
    if (ended.size > 0) decisions.push(...state.policy.onTrackEnd(ended.keys()));
    selectMs = performance.now() - t1;
    frameTracks = tracks.map((t) => ({ trackId: t.trackId, entry: t.entries[t.entries.length - 1]! }));
  } else if (task.op === 'flush') {
    for (const [id, t] of state.live) ended.set(id, t);
    decisions.push(...state.policy.flush());
    state.live.clear();
  }
  const wire = decisions.map((d) => toWire(d, state, ended));
  const unsent = unsentCount(state.policy);
  const unsentObjects = unsent - state.unsentReported;
  state.unsentReported = unsent;
  return {
    created,
    decisions: wire,
    refOps: [...state.refOps],
    frameTracks,
    activeTracks: state.live.size,
    newTrackIds,
    endedTrackIds: [...ended.keys()],
    maxTrackId: state.maxTrackId,
    trackMs,
    selectMs,
    unsentObjects,
  };
}

/** Crop measures of every box (the tracker's entries hold these same box objects). */
function measureCrops(image: SharedFrameView, boxes: readonly FrameDetections['boxes'][number][]): Map<FrameDetections['boxes'][number], CropStats> {
  const view = { width: image.width, height: image.height, stride: image.stride, channels: 3 as const, format: image.format, ...(image.yuv ? { yuv: image.yuv } : {}), pixels: image.pixels };
  return new Map(boxes.map((b) => [b, cropStats(view, b)]));
}

function emptyResult(created: boolean, maxTrackId: number): CameraTaskResult {
  return { created, decisions: [], refOps: [], frameTracks: [], activeTracks: 0, newTrackIds: [], endedTrackIds: [], maxTrackId, trackMs: 0, selectMs: 0, unsentObjects: 0 };
}
