/**
 * upload.content (docs/upload.md "Content"): what a package carries of its
 * frame — 'frame' (the whole frame, the package as SPEC's data model has it),
 * 'crops' (per selected object a full-resolution crop with a margin, plus
 * the metadata of every track in the frame) or 'frame+crops' (a low-quality
 * frame for context plus the crops). Pure helpers shared by the runtime and
 * the evaluation.
 */
import { touchesEdge } from '../geometry/box.js';
import type { Box } from '../types.js';
import type { PackageMetadata, UploadPackage } from './package.js';

export const UPLOAD_CONTENTS = ['frame', 'crops', 'frame+crops'] as const;
export type UploadContent = (typeof UPLOAD_CONTENTS)[number];

/**
 * The tracks a crops package carries a crop of: the selected objects, plus
 * every other track in the frame whose box does not touch the border
 * (Frigate's edge veto, geometry/box.ts `touchesEdge`) and whose entry there
 * qualifies by score (S1: score ≥ `minScore1`): a crops package shows every
 * unclipped, qualifying object its frame shows, so 'crops' covers what
 * 'frame' covers with the same decisions. Crops are cheap next to the frame
 * they replace.
 *
 * Why not "once per track" (a crop only of tracks never cropped or grown,
 * the earlier rule): a track is not an object. The tracker carries one
 * track through ID switches at crossings and through stretches it keeps
 * only by low-score association (T2's second stage), so the object in a
 * later package can be another one than the track's earlier crop showed;
 * measured on the shared footage the once-per-track rules lost 8–14 points
 * of coverage against the frames they came from (docs/evaluation.md
 * "Crop inclusion"), and a time-based refresh only traded that loss for bytes
 * by a tuned constant.
 *
 * A policy that pays per crop (SelectionPolicy.cropsOf 'selected': 'budget')
 * shows its selected objects only: a crop of an object already delivered
 * buys nothing.
 */
export function cropTrackIds(
  selected: readonly number[],
  tracks: ReadonlyArray<{ trackId: number; box: Box }>,
  width: number,
  height: number,
  minScore1: number,
  cropsOf?: 'selected',
): number[] {
  const out = new Set(selected);
  if (cropsOf !== 'selected') for (const t of tracks) if (!touchesEdge(t.box, width, height) && t.box.score >= minScore1) out.add(t.trackId);
  return [...out].sort((a, b) => a - b);
}

/** One multipart file part of a package. */
export interface PackagePart {
  name: string;
  filename: string;
  data: Buffer;
}

/**
 * The image parts of a package, in order: 'image' (when the metadata has
 * one) then 'crop-0', 'crop-1', … — the package's stored blob (`jpeg`) is
 * their concatenation, split by the metadata's byte counts.
 */
export function packageParts(pkg: Pick<UploadPackage, 'idempotencyKey' | 'jpeg'> & { metadata: Pick<PackageMetadata, 'image' | 'crops'> }): PackagePart[] {
  const base = pkg.idempotencyKey.replace(/[^A-Za-z0-9._-]/g, '_');
  const out: PackagePart[] = [];
  let at = 0;
  if (pkg.metadata.image !== null) {
    out.push({ name: 'image', filename: `${base}.jpg`, data: pkg.metadata.crops === undefined ? pkg.jpeg : pkg.jpeg.subarray(0, pkg.metadata.image.bytes) });
    at = pkg.metadata.image.bytes;
  }
  for (const c of pkg.metadata.crops ?? []) {
    out.push({ name: c.part, filename: `${base}-${c.part}.jpg`, data: pkg.jpeg.subarray(at, at + c.bytes) });
    at += c.bytes;
  }
  return out;
}
