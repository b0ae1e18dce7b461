/**
 * The letterbox contract between capture and detection: capture builds the
 * tensor the manifest asks for; detection maps boxes back to frame pixels.
 */
import type { TensorOptions } from '../capture/index.js';
import type { ModelManifest } from './manifest.js';

/** How a frame was placed into the model input: input = frame × ratio + pad. */
export interface LetterboxInfo {
  /** Tensor pixels per frame pixel. */
  ratio: number;
  padX: number;
  padY: number;
}

/** Capture options that produce exactly the input this manifest's model expects. */
export function tensorOptionsFor(manifest: ModelManifest): TensorOptions {
  const i = manifest.input;
  return {
    width: i.width,
    height: i.height,
    channelOrder: i.channelOrder,
    placement: i.placement,
    padValue: i.padValue,
    scale: i.scale,
  };
}

/**
 * The letterbox a frame of `frameWidth`×`frameHeight` gets in a model input of
 * `inputWidth`×`inputHeight` (same arithmetic as the native letterbox: scale to
 * fit, keep aspect; padding on the right/bottom for 'topleft', split for 'center').
 */
export function computeLetterbox(
  frameWidth: number,
  frameHeight: number,
  inputWidth: number,
  inputHeight: number,
  placement: 'topleft' | 'center',
): LetterboxInfo {
  const ratio = Math.min(inputWidth / frameWidth, inputHeight / frameHeight);
  if (placement === 'topleft') return { ratio, padX: 0, padY: 0 };
  const sw = Math.round(frameWidth * ratio);
  const sh = Math.round(frameHeight * ratio);
  return { ratio, padX: Math.floor((inputWidth - sw) / 2), padY: Math.floor((inputHeight - sh) / 2) };
}

/**
 * The part of a `inputWidth`×`inputHeight` letterboxed tensor a model with a
 * free input size (model.fitInput) needs: the frame's scaled image rounded up
 * to a multiple of `stride` (the model's largest stride) on each side, at the
 * same place the letterbox put it ('topleft': the top-left corner; 'center':
 * centred). A 640×360 frame in a 416×416 YOLOX input is 416×234 of image and
 * 182 rows of padding: its window is 416×256, 37 % fewer pixels to infer.
 * The window always contains the image (the rest is the letterbox's padding),
 * and `letterbox` is the frame's placement in the window.
 */
export function fitWindow(
  frameWidth: number,
  frameHeight: number,
  inputWidth: number,
  inputHeight: number,
  placement: 'topleft' | 'center',
  stride: number,
): { x: number; y: number; width: number; height: number; letterbox: LetterboxInfo } {
  const full = computeLetterbox(frameWidth, frameHeight, inputWidth, inputHeight, placement);
  // The native letterbox's size (GeometryFor: lround, at least 1 pixel).
  const sw = Math.max(1, Math.min(inputWidth, Math.round(frameWidth * full.ratio)));
  const sh = Math.max(1, Math.min(inputHeight, Math.round(frameHeight * full.ratio)));
  const width = Math.min(inputWidth, Math.ceil(sw / stride) * stride);
  const height = Math.min(inputHeight, Math.ceil(sh / stride) * stride);
  let x = placement === 'center' ? Math.floor((inputWidth - width) / 2) : 0;
  let y = placement === 'center' ? Math.floor((inputHeight - height) / 2) : 0;
  // Centred: keep the image inside the window whatever the rounding of the two halves.
  x = Math.min(Math.max(x, full.padX + sw - width), full.padX);
  y = Math.min(Math.max(y, full.padY + sh - height), full.padY);
  return { x, y, width, height, letterbox: { ratio: full.ratio, padX: full.padX - x, padY: full.padY - y } };
}

/** Packed 8-bit pixels, as frames and retained images carry them. */
export interface PackedImage {
  width: number;
  height: number;
  /** Bytes per row; default width × 3. */
  stride?: number;
  format: 'BGR' | 'RGB';
  pixels: Uint8Array;
}

/**
 * The detector input for packed pixels, in JavaScript: the same arithmetic as
 * the native letterbox of the capture pipeline (bilinear, half-pixel centres,
 * as cv2.resize INTER_LINEAR), for images that did not come through capture
 * with a tensor. Costs a few ms per frame (the native path ~0.3 ms): prefer
 * `openCapture({ tensor: tensorOptionsFor(manifest) })` for streams.
 */
export function letterboxTensor(image: PackedImage, manifest: ModelManifest, out?: Float32Array): { tensor: Float32Array; letterbox: LetterboxInfo } {
  const { width: tw, height: th, padValue, scale: s, channelOrder, placement } = manifest.input;
  const srcW = image.width;
  const srcH = image.height;
  const stride = image.stride ?? srcW * 3;
  if (image.pixels.length < stride * (srcH - 1) + srcW * 3) {
    throw new RangeError(`Expected at least ${stride * (srcH - 1) + srcW * 3} bytes for a ${srcW}x${srcH} image but received ${image.pixels.length}`);
  }
  const plane = tw * th;
  const dst = out ?? new Float32Array(plane * 3);
  if (dst.length !== plane * 3) throw new RangeError(`Expected ${plane * 3} floats for out but received ${dst.length}`);
  const ratio = Math.min(tw / srcW, th / srcH);
  const sw = Math.max(1, Math.min(tw, Math.round(srcW * ratio)));
  const sh = Math.max(1, Math.min(th, Math.round(srcH * ratio)));
  const padX = placement === 'center' ? Math.floor((tw - sw) / 2) : 0;
  const padY = placement === 'center' ? Math.floor((th - sh) / 2) : 0;
  dst.fill(Math.fround(padValue * s));
  const invX = srcW / sw;
  const invY = srcH / sh;
  const x0 = new Int32Array(sw);
  const x1 = new Int32Array(sw);
  const wx = new Float32Array(sw);
  for (let x = 0; x < sw; x++) {
    let sx = (x + 0.5) * invX - 0.5;
    if (sx < 0) sx = 0;
    let ix = Math.floor(sx);
    if (ix > srcW - 1) ix = srcW - 1;
    x0[x] = ix * 3;
    x1[x] = Math.min(ix + 1, srcW - 1) * 3;
    wx[x] = sx - ix;
  }
  const swap = (image.format === 'RGB') !== (channelOrder === 'rgb');
  const o0 = swap ? 2 : 0;
  const o2 = swap ? 0 : 2;
  const p = image.pixels;
  for (let y = 0; y < sh; y++) {
    let sy = (y + 0.5) * invY - 0.5;
    if (sy < 0) sy = 0;
    let iy = Math.floor(sy);
    if (iy > srcH - 1) iy = srcH - 1;
    const iy1 = Math.min(iy + 1, srcH - 1);
    const wy = Math.fround(sy - iy);
    const r0 = iy * stride;
    const r1 = iy1 * stride;
    const row = (y + padY) * tw + padX;
    const w00 = 1 - wy;
    for (let x = 0; x < sw; x++) {
      const a = r0 + x0[x]!;
      const b = r0 + x1[x]!;
      const c = r1 + x0[x]!;
      const d = r1 + x1[x]!;
      const fx = wx[x]!;
      const gx = 1 - fx;
      const wa = gx * w00 * s;
      const wb = fx * w00 * s;
      const wc = gx * wy * s;
      const wd = fx * wy * s;
      dst[row + x] = p[a + o0]! * wa + p[b + o0]! * wb + p[c + o0]! * wc + p[d + o0]! * wd;
      dst[plane + row + x] = p[a + 1]! * wa + p[b + 1]! * wb + p[c + 1]! * wc + p[d + 1]! * wd;
      dst[2 * plane + row + x] = p[a + o2]! * wa + p[b + o2]! * wb + p[c + o2]! * wc + p[d + o2]! * wd;
    }
  }
  return { tensor: dst, letterbox: { ratio, padX, padY } };
}
