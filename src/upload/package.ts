/**
 * The upload package (SPEC data model "Upload package", U1–U3): the JPEG of
 * the full frame plus JSON metadata — camera id, imageId, timestamps,
 * exposure, camera position and, for every track with an entry at this
 * image's timestamp, the trackId and that entry. Nanosecond timestamps travel
 * as decimal strings (they exceed 2^53). Versioned by schemas/package.v1.json.
 */
import { invalidParameterError } from '../errors.js';
import { sha256Hex } from '../hash.js';
import type { Box, CameraPosition, Route, ExposureInfo, ExposureMode, TrackEntry, WorldPosition } from '../types.js';
import type { CropRect } from '../select/crop-stats.js';
import type { UploadContent } from './content.js';
import { PACKAGE_SCHEMA_ID, formatViolations, validatePackageMetadata } from './schema.js';

/** S5: how a package travels — the same type selection decides (src/types.ts). */
export type UploadRoute = Route;

export interface PackageInput {
  cameraId: string;
  imageId: number;
  /** Capture time, wall clock, ns since the epoch. */
  timestampNs: bigint;
  /** Capture time on the monotonic clock, ns; omitted when unknown. */
  captureMonotonicNs?: bigint;
  width: number;
  height: number;
  exposure: ExposureInfo;
  cameraPosition: CameraPosition | null;
  /** The frame's JPEG: the whole frame ('frame'), the context frame ('frame+crops'); null for 'crops'. */
  jpeg: Buffer | null;
  /** Every track with an entry at this image's timestamp (data model). */
  tracks: Array<{ trackId: number; entry: TrackEntry }>;
  /** Why it was selected (S4/S5); optional for packages built outside the selector. */
  selection?: { route: UploadRoute; trackIds: number[]; policy: string };
  /** upload.content; default 'frame' (then the package is exactly as before: no `content` or `crops` keys). */
  content?: UploadContent;
  /** 'crops' / 'frame+crops': one crop per object, its rectangle in the frame's pixels and its JPEG. */
  crops?: Array<{ trackId: number; rect: CropRect; jpeg: Buffer }>;
}

/** A crop of a package (schemas/package.v1.json `crops[]`): its rectangle in the frame and its part. */
export interface PackageCrop {
  trackId: number;
  x: number;
  y: number;
  width: number;
  height: number;
  part: string;
  contentType: 'image/jpeg';
  bytes: number;
  sha256: string;
}

export interface PackageTrackEntry {
  timestampNs: string;
  imageId: number;
  exposureMode: ExposureMode;
  cameraPosition: CameraPosition | null;
  box: Box;
  worldPosition: WorldPosition | null;
}

/** The JSON part of a package; matches schemas/package.v1.json. */
export interface PackageMetadata {
  schema: typeof PACKAGE_SCHEMA_ID;
  idempotencyKey: string;
  cameraId: string;
  imageId: number;
  timestampNs: string;
  captureMonotonicNs: string | null;
  width: number;
  height: number;
  exposure: ExposureInfo;
  cameraPosition: CameraPosition | null;
  /** The 'image' part; null for content 'crops'. */
  image: { contentType: 'image/jpeg'; bytes: number; sha256: string } | null;
  /** `label`/`classId`: the track's score-weighted class vote (T1); `entry.box` keeps the class detected in this frame. */
  tracks: Array<{ trackId: number; label?: string; classId?: number; entry: PackageTrackEntry }>;
  selection: { route: UploadRoute; trackIds: number[]; policy: string } | null;
  /** upload.content; absent = 'frame'. */
  content?: Exclude<UploadContent, 'frame'>;
  crops?: PackageCrop[];
}

export interface UploadPackage {
  /** U3: `${cameraId}:${imageId}`, the Idempotency-Key header. */
  idempotencyKey: string;
  metadata: PackageMetadata;
  /** The image parts concatenated: the frame ('frame'), else [the context frame] + the crops in metadata order (content.ts `packageParts`). */
  jpeg: Buffer;
}

/** U3: the idempotency key of a package. */
export function idempotencyKey(cameraId: string, imageId: number): string {
  return `${cameraId}:${imageId}`;
}

export { sha256Hex };

const pick = <T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> =>
  Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;

function cameraPosition(p: CameraPosition | null): CameraPosition | null {
  return p === null ? null : pick(p, ['lat', 'lon', 'alt', 'heading']);
}

function bigintString(value: bigint, name: string): string {
  if (typeof value !== 'bigint') throw invalidParameterError('bigint', name, value);
  return value.toString();
}

/**
 * Build a package (U1/U2). The metadata is checked against the schema, so a
 * package that leaves the edge always validates at the receiver; a bad input
 * throws a TypeError naming the field, e.g.
 * "Invalid package metadata: /width: expected integer but received 1.5 of type number".
 */
export function buildPackage(input: PackageInput): UploadPackage {
  const content = input.content ?? 'frame';
  if (content !== 'crops' && (!Buffer.isBuffer(input.jpeg) || input.jpeg.length === 0)) throw invalidParameterError('non-empty Buffer', 'jpeg', input.jpeg);
  if (content !== 'frame' && (!Array.isArray(input.crops) || input.crops.length === 0)) throw invalidParameterError('non-empty array', 'crops', input.crops);
  for (const [i, c] of (content === 'frame' ? [] : input.crops!).entries()) {
    if (!Buffer.isBuffer(c.jpeg) || c.jpeg.length === 0) throw invalidParameterError('non-empty Buffer', `crops[${i}].jpeg`, c.jpeg);
  }
  const frameJpeg = content === 'crops' ? null : input.jpeg!;
  if (typeof input.timestampNs !== 'bigint') throw invalidParameterError('bigint', 'timestampNs', input.timestampNs);
  if (input.captureMonotonicNs !== undefined && typeof input.captureMonotonicNs !== 'bigint') {
    throw invalidParameterError('bigint', 'captureMonotonicNs', input.captureMonotonicNs);
  }
  const key = idempotencyKey(input.cameraId, input.imageId);
  const metadata: PackageMetadata = {
    schema: PACKAGE_SCHEMA_ID,
    idempotencyKey: key,
    cameraId: input.cameraId,
    imageId: input.imageId,
    timestampNs: input.timestampNs.toString(),
    captureMonotonicNs: input.captureMonotonicNs === undefined ? null : input.captureMonotonicNs.toString(),
    width: input.width,
    height: input.height,
    exposure: pick(input.exposure, ['mode', 'exposureTimeUs', 'gain']),
    cameraPosition: cameraPosition(input.cameraPosition),
    image: frameJpeg === null ? null : { contentType: 'image/jpeg', bytes: frameJpeg.length, sha256: sha256Hex(frameJpeg) },
    tracks: input.tracks.map(({ trackId, entry }, i) => ({
      trackId,
      // T1: the track's voted label beside each entry's detected class (entry.box.label).
      ...(entry.trackLabel ? { label: entry.trackLabel.label, classId: entry.trackLabel.classId } : {}),
      entry: {
        timestampNs: bigintString(entry.timestampNs, `tracks[${i}].entry.timestampNs`),
        imageId: entry.imageId,
        exposureMode: entry.exposureMode,
        cameraPosition: cameraPosition(entry.cameraPosition),
        box: pick(entry.box, ['cx', 'cy', 'w', 'h', 'angle', 'classId', 'label', 'score']),
        worldPosition: entry.worldPosition === null ? null : pick(entry.worldPosition, ['lat', 'lon', 'alt', 'east', 'north']),
      },
    })),
    selection: input.selection ? { route: input.selection.route, trackIds: [...input.selection.trackIds], policy: input.selection.policy } : null,
  };
  if (content !== 'frame') {
    metadata.content = content;
    metadata.crops = input.crops!.map((c, i) => ({
      trackId: c.trackId,
      x: c.rect.x,
      y: c.rect.y,
      width: c.rect.width,
      height: c.rect.height,
      part: `crop-${i}`,
      contentType: 'image/jpeg',
      bytes: c.jpeg.length,
      sha256: sha256Hex(c.jpeg),
    }));
  }
  // JSON round trip first: NaN/Infinity become null and fail the schema, as they would at the receiver.
  const violations = validatePackageMetadata(JSON.parse(JSON.stringify(metadata)));
  if (violations.length > 0) throw new TypeError(`Invalid package metadata: ${formatViolations(violations)}`);
  const blob = content === 'frame' ? frameJpeg! : Buffer.concat([...(frameJpeg ? [frameJpeg] : []), ...input.crops!.map((c) => c.jpeg)]);
  return { idempotencyKey: key, metadata, jpeg: blob };
}

/** The metadata as sent: UTF-8 JSON. */
export function encodeMetadata(metadata: PackageMetadata): Buffer {
  return Buffer.from(JSON.stringify(metadata), 'utf8');
}
