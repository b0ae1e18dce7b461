/** Shared test helpers for detection: frame loading through the real capture pipeline. */
import { openCapture, type CapturedFrame } from '../../src/capture/index.js';
import { tensorOptionsFor, type DetectorInput, type ModelManifest } from '../../src/detect/index.js';

/** The first frame of an image or video file, with the manifest's tensor. */
export async function firstFrame(path: string, manifest: ModelManifest): Promise<CapturedFrame> {
  const src = openCapture({ source: { type: 'file', path }, tensor: tensorOptionsFor(manifest) });
  try {
    const f = await src.next();
    if (f === null) throw new Error(`no frame in ${path}`);
    return f;
  } finally {
    src.close();
  }
}

export function inputOf(f: CapturedFrame): DetectorInput {
  if (!f.tensor || !f.letterbox) throw new Error('frame has no tensor');
  return { tensor: f.tensor, letterbox: f.letterbox, frameWidth: f.width, frameHeight: f.height };
}

export function iouXyxy(a: readonly number[], b: readonly number[]): number {
  const ix = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const iy = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = ix * iy;
  const union = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return union > 0 ? inter / union : 0;
}

/** Every `every`-th frame of the first `maxFrames` of a clip, through the real pipeline; the source is closed after. */
export async function sampleFrames(
  path: string,
  manifest: ModelManifest,
  every: number,
  maxFrames: number,
  fn: (frame: CapturedFrame, index: number) => Promise<void>,
): Promise<number> {
  const src = openCapture({ source: { type: 'file', path }, tensor: tensorOptionsFor(manifest) });
  let i = 0;
  try {
    for await (const f of src) {
      if (i >= maxFrames) break;
      if (i % every === 0) await fn(f, i);
      i++;
    }
  } finally {
    src.close();
  }
  return i;
}
