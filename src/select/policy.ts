/**
 * The selection policy interface: SPEC's method ('spec') and the alternatives
 * of SPEC "Beyond the method", all pure state machines over tracks (no I/O),
 * so the runtime drives one per camera and the evaluation (docs/evaluation.md) can run
 * them all on the same tracks.
 */
import type { Track, TrackEntry } from '../types.js';
import type { FrameRefs } from './frame-ring.js';
import type { Route } from './rules.js';
import type { PolicyName } from './options.js';
import type { SelectorFrame } from './selector.js';

/** A selected object of an upload decision: its id and its entry in that image. */
export interface SelectedObject {
  trackId: number;
  entry: TrackEntry;
}

interface DecisionBase {
  /** The frame to upload (the current frame, or one a policy held). */
  imageId: number;
  timestampNs: bigint;
  /**
   * The objects that chose this frame, with their entries in it. The package
   * (SPEC data model) carries every track with an entry at this timestamp;
   * these are at least those.
   */
  selected: SelectedObject[];
  /** Timestamp of the latest frame the policy had seen when it decided (latency = decidedAtNs − timestampNs). */
  decidedAtNs: bigint;
}

/**
 * Upload frame X by `route` (S5): 'immediate' sends it now (U1), 'cached'
 * appends it to the cache queue (U2). One vocabulary from policy to queue.
 */
export interface UploadDecision extends DecisionBase {
  kind: 'upload';
  route: Route;
}

/**
 * Replace the still-queued packages `replacesImageIds` by frame X. With route
 * 'cached': X takes the place (queue position) of the first of them that is
 * still queued and the others are withdrawn; if none is still queued, X is
 * enqueued as new. With route 'immediate': the still-queued ones are
 * withdrawn and X is sent now. A replaced package is counted, never silently
 * lost.
 */
export interface ReplaceDecision extends DecisionBase {
  kind: 'replace';
  route: Route;
  replacesImageIds: number[];
}

export type PolicyDecision = UploadDecision | ReplaceDecision;

/**
 * One camera's selection policy. Call {@link onFrame} once per frame (after
 * the tracker's update), {@link onTrackEnd} with the ids the tracker removed,
 * and {@link flush} at end of stream (every track ends).
 *
 * Frame references (A5, S7): when constructed with `refs` (a FrameRing), the
 * policy retains each frame it holds (a track's best or candidate) and
 * releases it when done; and every upload decision it returns carries ONE
 * reference owned by the consumer, who releases it once the package is built.
 */
export interface SelectionPolicy {
  readonly name: PolicyName;
  /**
   * Which tracks a crops package (upload.content 'crops', 'frame+crops') of
   * this policy's decisions shows: absent = every qualifying, unclipped track
   * of the frame (upload/content.ts cropTrackIds); 'selected' = the decision's
   * selected objects only ('budget': the crops are what it pays for).
   */
  readonly cropsOf?: 'selected';
  onFrame(frame: SelectorFrame, tracks: readonly Track[]): PolicyDecision[];
  onTrackEnd(trackIds: Iterable<number>): PolicyDecision[];
  flush(): PolicyDecision[];
  /**
   * The bytes the package of a decision on frame `imageId` took once encoded
   * (its JPEG parts), reported by the camera after it built the package.
   * Optional: 'budget' charges its bucket real bytes and calibrates its cost
   * estimate with them; the other policies do not count bytes.
   */
  onPackageBytes?(imageId: number, bytes: number): void;
}

/** The policy list is defined once, with each policy's options (options.ts). */
export { POLICY_NAMES, type PolicyName } from './options.js';

/** The entry of a track in the frame at `timestampNs`, if the object is in it (last entry). */
export function entryAt(track: Track, timestampNs: bigint): TrackEntry | undefined {
  const e = track.entries[track.entries.length - 1];
  return e !== undefined && e.timestampNs === timestampNs ? e : undefined;
}

/** FrameRefs that do nothing (the evaluation runs policies without pixels). */
export const NO_REFS: FrameRefs = Object.freeze({ retain() {}, release() {} });
