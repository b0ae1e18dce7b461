/** Shared helpers of the upload and receiver tests: real JPEGs, packages, a receiver process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { encodeJpeg } from '../../src/capture/index.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { buildPackage, type UploadPackage } from '../../src/upload/index.js';
import type { TrackEntry } from '../../src/types.js';

const jpegCache = new Map<string, Buffer>();

/** A real JPEG (GStreamer jpegenc) of a w×h gradient whose colour depends on seed. */
export async function makeJpeg(seed = 0, width = 64, height = 48): Promise<Buffer> {
  const id = `${seed}:${width}x${height}`;
  const hit = jpegCache.get(id);
  if (hit) return hit;
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (x * 4 + seed * 37) & 255;
      pixels[i + 1] = (y * 5 + seed * 11) & 255;
      pixels[i + 2] = (seed * 71) & 255;
    }
  }
  const jpeg = await encodeJpeg({ width, height, format: 'BGR', pixels }, { quality: 80 });
  jpegCache.set(id, jpeg);
  return jpeg;
}

export function entryAt(imageId: number, timestampNs: bigint, trackId = 1): TrackEntry {
  return {
    timestampNs,
    imageId,
    exposureMode: 'manual',
    cameraPosition: { lat: 48.1371, lon: 11.5754, alt: 519.5, heading: 92.5 },
    box: { cx: 320 + trackId, cy: 240, w: 80, h: 60, angle: 0, classId: 2, label: 'car', score: 0.91 },
    worldPosition: { lat: 48.13712, lon: 11.57551, alt: 519.5, east: 3.5, north: 12.25 },
  };
}

export const BASE_NS = 1_795_550_000_000_000_000n;

export function makePackage(cameraId: string, imageId: number, jpeg: Buffer): UploadPackage {
  const timestampNs = BASE_NS + BigInt(imageId) * 100_000_000n;
  return buildPackage({
    cameraId,
    imageId,
    timestampNs,
    captureMonotonicNs: 5_000_000_000n + BigInt(imageId),
    width: 640,
    height: 480,
    exposure: { mode: 'manual', exposureTimeUs: 1000, gain: 4.5 },
    cameraPosition: { lat: 48.1371, lon: 11.5754, alt: 519.5, heading: 92.5 },
    jpeg,
    tracks: [{ trackId: 7, entry: entryAt(imageId, timestampNs, 7) }],
    selection: { route: 'cached', trackIds: [7], policy: 'baseline' },
  });
}

export interface ReceiverProcess {
  url: string;
  proc: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
}

/** Start `bestshot receiver` as a child process (the real CLI) and wait for its URL. */
export async function spawnReceiver(args: string[]): Promise<ReceiverProcess> {
  const proc = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'receiver', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`receiver did not start: ${out}`)), 20000);
    const onData = (): void => {
      const m = /receiver listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`receiver exited with ${code}: ${out}`));
    });
  });
  return {
    url,
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      await once(proc, 'exit');
    },
  };
}

export interface Listed {
  key: string;
  cameraId: string;
  imageId: number;
  sha256: string;
  duplicates: number;
  trackIds: number[];
}

export async function listPackages(url: string, token: string, camera?: string): Promise<Listed[]> {
  const res = await fetch(`${url}/packages${camera ? `?camera=${encodeURIComponent(camera)}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`GET /packages: ${res.status}`);
  return ((await res.json()) as { packages: Listed[] }).packages;
}

/** Poll until pred() holds or timeoutMs passes. */
export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  // The monotonic clock: tests step the wall clock (Date.now) under the code they wait on.
  const end = performance.now() + timeoutMs;
  while (!(await pred())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
