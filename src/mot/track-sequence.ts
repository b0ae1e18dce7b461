/**
 * Run the tracker over a MOTChallenge sequence's det/det.txt (no images) and
 * produce MOTChallenge result rows — what `bestshot track --mot` does.
 */
import { basename, join } from 'node:path';
import { ByteTracker } from '../track/byte-tracker.js';
import type { TrackerOptions } from '../track/options.js';
import type { Box, FrameDetections } from '../types.js';
import { MOT15_SEQINFO, type MotRow, framesOutsideWarning, groupByFrame, readMotDetections, readSeqInfo } from './io.js';

export interface TrackSequenceOptions {
  tracker?: TrackerOptions;
  /**
   * Box written per track and frame: 'filtered' (the Kalman estimate after
   * the update — what upstream ByteTrack writes) or 'detection' (the matched
   * detection box itself). Default 'filtered'.
   */
  output?: 'filtered' | 'detection';
  /** Track only frames first..last (1-based, inclusive), the tracker starting fresh at first. Default: all. */
  frames?: readonly [first: number, last: number];
  /**
   * Frames the tracker does not see, as a unit that drops frames would not
   * (benchmarks/track-drops.ts): no update() for them and no rows. Default: none.
   */
  dropFrame?: (frame: number) => boolean;
}

export interface TrackSequenceResult {
  rows: MotRow[];
  numFrames: number;
  frameRate: number;
  /** update() wall time per frame in ms. */
  updateMs: number[];
  /** What the user should know about det.txt (rows skipped, …); the command prints them on stderr. */
  warnings: string[];
  /** det.txt rows the tracker was given (rows of no size are skipped); 0: there was nothing to track. */
  detections: number;
}

/** MOT det rows of one frame → FrameDetections (class 0 'person', angle 0). */
export function motFrameDetections(rows: readonly MotRow[], frame: number, width: number, height: number): FrameDetections {
  const boxes: Box[] = rows.map((r) => ({
    cx: r.left + r.width / 2,
    cy: r.top + r.height / 2,
    w: r.width,
    h: r.height,
    angle: 0,
    classId: 0,
    label: 'person',
    score: r.conf,
  }));
  return {
    cameraId: 'mot',
    imageId: frame,
    timestampNs: BigInt(frame),
    exposureMode: 'manual',
    cameraPosition: null,
    width,
    height,
    boxes,
  };
}

export function trackMotSequence(dir: string, options: TrackSequenceOptions = {}): TrackSequenceResult {
  const info = readSeqInfo(dir);
  const detPath = join(dir, 'det', 'det.txt');
  const { rows: dets, warnings } = readMotDetections(detPath);
  const numFrames = info?.seqLength ?? dets.reduce((m, r) => Math.max(m, r.frame), 0);
  const outside = framesOutsideWarning(dets, numFrames, detPath);
  if (outside !== null) warnings.push(outside);
  // Without seqinfo.ini's frameRate: MOTChallenge's own for a MOT15 train sequence (as replay and eval
  // take it), else 30 fps, said: the lost-track buffer is counted in frames at this rate, and a 14 fps
  // sequence tracked at 30 silently kept lost tracks for half the time eval gives them.
  const known = MOT15_SEQINFO[basename(dir)]?.frameRate;
  const frameRate = options.tracker?.frameRate ?? info?.frameRate ?? known ?? 30;
  if (options.tracker?.frameRate === undefined && info?.frameRate === undefined && dets.length > 0) {
    const why = info === null ? 'no such file' : 'it has no frameRate';
    warnings.push(
      known === undefined
        ? `${join(dir, 'seqinfo.ini')}: ${why}: 30 fps assumed (the lost-track buffer counts frames at this rate); give --frame-rate, or write frameRate=… under [Sequence]`
        : `${join(dir, 'seqinfo.ini')}: ${why}: ${known} fps, MOTChallenge's rate for ${basename(dir)}`,
    );
  }
  // The frames' timestamps are their frame numbers (motFrameDetections): one period is 1, so a dropped
  // frame still counts as a frame for the prediction and the lost-track buffer (src/track/frame-steps.ts).
  const tracker = new ByteTracker({ framePeriodNs: 1, ...options.tracker, frameRate });
  const byFrame = groupByFrame(dets, numFrames);
  const rows: MotRow[] = [];
  const updateMs: number[] = [];
  const output = options.output ?? 'filtered';
  const [first, last] = options.frames ?? [1, numFrames];
  for (let f = Math.max(1, first); f <= Math.min(numFrames, last); f++) {
    if (options.dropFrame?.(f) === true) continue;
    const frame = motFrameDetections(byFrame[f - 1]!, f, info?.imWidth ?? 0, info?.imHeight ?? 0);
    const t0 = performance.now();
    const tracks = tracker.update(frame);
    updateMs.push(performance.now() - t0);
    for (const t of tracks) {
      const b = output === 'filtered' ? t.box : t.entries[t.entries.length - 1]!.box;
      rows.push({ frame: f, id: t.trackId, left: b.cx - b.w / 2, top: b.cy - b.h / 2, width: b.w, height: b.h, conf: t.score, classId: -1, visibility: -1 });
    }
  }
  return { rows, numFrames, frameRate, updateMs, warnings, detections: dets.length };
}
