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

/** A track's crop is carried again when its box grew to this multiple of the largest crop of it already sent (Frigate's +10 %). */
export const CROP_AREA_GROWTH = 1.1;

/**
 * The tracks a crops package carries a crop of: the selected objects, plus
 * every other track in the frame that does not touch the border and whose
 * box area reaches {@link CROP_AREA_GROWTH} × the largest crop of it an
 * earlier package of this camera carried (or that has none yet): an object
 * the policy covered by sharing the frame would otherwise have no image of
 * its own. Records the carried areas in `cropped` (trackId → largest area;
 * the caller keeps it per camera and forgets ended tracks).
 */
export function cropTrackIds(
  selected: readonly number[],
  tracks: ReadonlyArray<{ trackId: number; box: Box }>,
  cropped: Map<number, number>,
  width: number,
  height: number,
): number[] {
  const out = new Set(selected);
  for (const t of tracks) {
    const prev = cropped.get(t.trackId);
    if (!touchesEdge(t.box, width, height) && (prev === undefined || t.box.w * t.box.h >= CROP_AREA_GROWTH * prev)) out.add(t.trackId);
  }
  for (const t of tracks) if (out.has(t.trackId)) cropped.set(t.trackId, Math.max(cropped.get(t.trackId) ?? 0, t.box.w * t.box.h));
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
