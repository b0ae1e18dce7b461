/**
 * The package event (schemas/event.v1.json): a CloudEvents 1.0 envelope in
 * structured JSON mode whose `id` is the package's idempotency key (U3), so
 * a consumer dedupes a re-sent event by id, and whose `data` carries the
 * package metadata unchanged (schemas/package.v1.json) plus a claim-check
 * reference to the stored image (bucket, key, sha256, bytes, width, height).
 * `sensor` and `objects` repeat what a DeepStream "full"-schema consumer
 * looks for (sensor id/location, object id/label/confidence/bbox/location).
 */
import { join } from 'node:path';
import { compileSchemaFile, type SchemaViolation, type Validator } from '../../json-schema.js';
import { PROJECT_ROOT } from '../../paths.js';
import type { PackageMetadata, UploadPackage } from '../package.js';
import { PACKAGE_SCHEMA_FILE } from '../schema.js';

export const EVENT_SCHEMA_URI = 'https://bestshot.dev/schemas/event.v1.json';
export const EVENT_SCHEMA_FILE = join(PROJECT_ROOT, 'schemas', 'event.v1.json');
export const EVENT_TYPE = 'dev.bestshot.package.v1';
/** MQTT 5 content type of the structured-mode CloudEvent (CloudEvents MQTT binding). */
export const EVENT_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** Where the image lives (claim check). bucket/key absent when no object store is used. */
export interface ImageRef {
  contentType: 'image/jpeg';
  bucket?: string;
  key?: string;
  sidecarKey?: string;
  sha256: string;
  bytes: number;
  width: number;
  height: number;
  /** Only in the mqtt sink's capped inline mode. */
  inlineBase64?: string;
}

export interface PackageEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: typeof EVENT_TYPE;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  dataschema: typeof EVENT_SCHEMA_URI;
  dataref?: string;
  bestshotsite: string;
  data: {
    package: PackageMetadata;
    image: ImageRef;
    sensor: { id: string; type: 'camera'; site: string; location: { lat: number; lon: number; alt: number } | null };
    objects: Array<{
      id: string;
      label: string;
      confidence: number;
      bbox: { topleftx: number; toplefty: number; bottomrightx: number; bottomrighty: number };
      location: { lat: number; lon: number; alt: number } | null;
    }>;
  };
}

/** Capture time (ns since the epoch, decimal string) as RFC 3339 with nanoseconds, UTC. */
export function rfc3339FromNs(ns: string): string {
  const n = BigInt(ns);
  const ms = n / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-12-04T03:15:00.123Z
  const frac = (n % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/**
 * The frame image of a package, as the s3 and mqtt sinks carry it. A package
 * of content 'crops' has none (config validation keeps it off these sinks);
 * one that gets here anyway fails as a permanent error, never silently.
 */
export function frameImage(pkg: UploadPackage): { contentType: 'image/jpeg'; bytes: number; sha256: string } {
  const image = pkg.metadata.image;
  if (image === null) throw new TypeError(`Package ${pkg.idempotencyKey} has no frame image (content '${pkg.metadata.content}'); the s3 and mqtt sinks need upload.content 'frame'`);
  return image;
}

/** The image reference of a package without an object store (mqtt alone). */
export function localImageRef(pkg: UploadPackage): ImageRef {
  const m = pkg.metadata;
  const image = frameImage(pkg);
  return { contentType: 'image/jpeg', sha256: image.sha256, bytes: image.bytes, width: m.width, height: m.height };
}

export function buildEvent(pkg: UploadPackage, site: string, image: ImageRef): PackageEvent {
  const m = pkg.metadata;
  const loc = (p: { lat: number; lon: number; alt: number } | null): { lat: number; lon: number; alt: number } | null =>
    p === null ? null : { lat: p.lat, lon: p.lon, alt: p.alt };
  return {
    specversion: '1.0',
    id: pkg.idempotencyKey,
    source: `bestshot://${site}/${m.cameraId}`,
    type: EVENT_TYPE,
    subject: `${m.cameraId}/${m.imageId}`,
    time: rfc3339FromNs(m.timestampNs),
    datacontenttype: 'application/json',
    dataschema: EVENT_SCHEMA_URI,
    ...(image.bucket !== undefined && image.key !== undefined ? { dataref: `s3://${image.bucket}/${image.key}` } : {}),
    bestshotsite: site,
    data: {
      package: m,
      image,
      sensor: { id: m.cameraId, type: 'camera', site, location: loc(m.cameraPosition) },
      objects: m.tracks.map((t) => {
        const b = t.entry.box;
        return {
          id: String(t.trackId),
          label: t.label ?? b.label,
          confidence: b.score,
          bbox: { topleftx: b.cx - b.w / 2, toplefty: b.cy - b.h / 2, bottomrightx: b.cx + b.w / 2, bottomrighty: b.cy + b.h / 2 },
          location: loc(t.entry.worldPosition),
        };
      }),
    },
  };
}

/** The event as sent: UTF-8 JSON. */
export function encodeEvent(event: PackageEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

let eventValidator: Validator | undefined;

/** Validate an event against schemas/event.v1.json (which refers to package.v1.json); compiled once. */
export function validateEvent(event: unknown): SchemaViolation[] {
  eventValidator ??= compileSchemaFile(EVENT_SCHEMA_FILE, 20, [PACKAGE_SCHEMA_FILE]);
  return eventValidator(event);
}

