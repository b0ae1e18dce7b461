/**
 * `bestshot replay <MOT sequence dir>`: the tracker and the selection policy
 * on a MOTChallenge sequence's det/det.txt (the shared sequences carry no
 * images). Frames are taken on the captureHz grid of the sequence's own
 * timeline (A5), tracked (T1–T3) and selected (S1–S7 or the configured
 * policy); the run writes tracks.jsonl, selections.jsonl and summary.json.
 * Nothing is uploaded: a selection without pixels has no image to send.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capturePeriodNs, StreamGrid } from '../capture/index.js';
import type { CameraConfig } from '../config/index.js';
import { policyOptions, trackerOptions } from '../config/index.js';
import { framesOutsideWarning, groupByFrame, motFrameDetections, readMotDetections, readSeqInfo, sequenceGeometry } from '../mot/index.js';
import { ByteTracker, createIdAllocator } from '../track/index.js';
import { createPolicy, type PolicyDecision } from '../select/index.js';
import { makeDirectory } from '../process-lock.js';

export interface MotReplaySummary {
  sequence: string;
  policy: string;
  frameRate: number;
  framesInSequence: number;
  framesProcessed: number;
  objectsTracked: number;
  selectionsImmediate: number;
  selectionsCached: number;
  selectionsPerObject: number;
  /** Frames with at least one track: what sending every frame would have sent. */
  everyFramePackages: number;
  /** What the user should know about det.txt (rows skipped, …); the command prints them on stderr. */
  warnings: string[];
}

const jsonl = (v: unknown): string => `${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))}\n`;

export async function replayMotSequence(dir: string, cam: CameraConfig, outDir: string): Promise<MotReplaySummary> {
  const info = readSeqInfo(dir);
  // Refused before any work: a made-up size moves every box against the image edge (S3), a made-up rate the timeline (A5).
  const { frameRate, width, height } = sequenceGeometry(dir, info);
  const detPath = join(dir, 'det', 'det.txt');
  const { rows: dets, warnings } = readMotDetections(detPath);
  const numFrames = info?.seqLength ?? dets.reduce((m, r) => Math.max(m, r.frame), 0);
  const outside = framesOutsideWarning(dets, numFrames, detPath);
  if (outside !== null) warnings.push(outside);
  const byFrame = groupByFrame(dets, numFrames);
  const tracker = new ByteTracker(trackerOptions(cam), { ids: createIdAllocator(1) });
  const policy = createPolicy(cam.selection.policy, policyOptions(cam.selection));
  makeDirectory(outDir);
  const tracksOut = createWriteStream(join(outDir, 'tracks.jsonl'));
  const selectionsOut = createWriteStream(join(outDir, 'selections.jsonl'));
  const onGrid = new StreamGrid(capturePeriodNs(cam.captureHz), 0n);
  const seen = new Set<number>();
  let processed = 0;
  let everyFrame = 0;
  const counts = { immediate: 0, cached: 0 };
  const log = (decisions: PolicyDecision[]): void => {
    for (const d of decisions) {
      const route = d.route;
      counts[route]++;
      selectionsOut.write(
        jsonl({ imageId: d.imageId, timestampNs: d.timestampNs, kind: d.kind, route, trackIds: d.selected.map((s) => s.trackId), replacesImageIds: d.kind === 'replace' ? d.replacesImageIds : [] }),
      );
    }
  };
  for (let f = 1; f <= numFrames; f++) {
    const timestampNs = (BigInt(f - 1) * 1_000_000_000n) / BigInt(Math.round(frameRate));
    if (!onGrid.take(timestampNs)) continue; // A5: the first frame at or after each tick of the captureHz grid
    // A5: the grid's tick, as a camera's frames carry it (T2 counts the frame periods between frames by it).
    const frame = { ...motFrameDetections(byFrame[f - 1]!, f, width, height), cameraId: cam.id, timestampNs, gridTick: { grid: onGrid.id, index: onGrid.tick } };
    const tracks = tracker.update(frame);
    processed++;
    if (tracks.length > 0) everyFrame++;
    for (const t of tracks) seen.add(t.trackId);
    tracksOut.write(jsonl({ imageId: f, timestampNs, tracks: tracks.map((t) => ({ trackId: t.trackId, entry: t.entries[t.entries.length - 1] })) }));
    log(policy.onFrame({ imageId: f, timestampNs, width, height }, tracks));
    log(policy.onTrackEnd(tracker.removedTracks.map((t) => t.trackId)));
  }
  log(policy.flush());
  await Promise.all([new Promise((r) => tracksOut.end(r)), new Promise((r) => selectionsOut.end(r))]);
  const selections = counts.immediate + counts.cached;
  const summary: MotReplaySummary = {
    sequence: dir,
    policy: cam.selection.policy,
    frameRate,
    framesInSequence: numFrames,
    framesProcessed: processed,
    objectsTracked: seen.size,
    selectionsImmediate: counts.immediate,
    selectionsCached: counts.cached,
    selectionsPerObject: seen.size > 0 ? selections / seen.size : 0,
    everyFramePackages: everyFrame,
    warnings,
  };
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2));
  return summary;
}
