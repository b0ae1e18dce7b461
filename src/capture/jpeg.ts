/** JPEG encoding of a retained frame (U1/U2 packages), inside GStreamer. */
import { invalidParameterError, outOfRangeError, rethrowNative, CaptureError } from '../errors.js';
import { loadNative, type NativeBinding } from './native.js';
import { frameBytes, type PixelFormat } from './options.js';
import type { YuvMatrix } from './yuv.js';

export interface RawImage {
  width: number;
  height: number;
  format: PixelFormat;
  /** I420: the frame's colorimetry (CapturedFrame.yuv), so the JPEG's colours are the capture's. */
  yuv?: YuvMatrix;
  pixels: Uint8Array;
}

export interface JpegOptions {
  /** 1..100, default 85: visually clean for re-analysis at ~1/10 of raw size. */
  quality?: number;
  /** Encoder element; default nvjpegenc where it exists (Jetson), else jpegenc. */
  encoder?: 'jpegenc' | 'nvjpegenc';
  /**
   * Scale the image down to at most this width before encoding, its height
   * following its aspect (rounded, at least 1); an image this wide or
   * narrower is encoded at its own size. Default: the image's own size.
   */
  maxWidth?: number;
}

/** The size an image of width × height is encoded at under JpegOptions.maxWidth. */
export function jpegSize(width: number, height: number, maxWidth?: number): { width: number; height: number } {
  if (maxWidth === undefined || width <= maxWidth) return { width, height };
  return { width: maxWidth, height: Math.max(1, Math.round((height * maxWidth) / width)) };
}

let defaultEncoder: 'jpegenc' | 'nvjpegenc' | undefined;

export async function encodeJpeg(image: RawImage, options: JpegOptions = {}, binding: NativeBinding = loadNative()): Promise<Buffer> {
  const quality = options.quality ?? 85;
  if (!Number.isInteger(quality)) throw invalidParameterError('integer between 1 and 100', 'quality', quality);
  if (quality < 1 || quality > 100) throw outOfRangeError('integer between 1 and 100', 'quality', quality);
  if (image.format !== 'BGR' && image.format !== 'RGB' && image.format !== 'I420') throw invalidParameterError("one of 'BGR', 'RGB', 'I420'", 'format', image.format);
  const bytes = frameBytes(image.width, image.height, image.format);
  if (image.pixels.byteLength !== bytes) {
    throw new RangeError(
      `Expected ${bytes} bytes for a ${image.width}x${image.height} ${image.format} image but received ${image.pixels.byteLength}`,
    );
  }
  const maxWidth = options.maxWidth;
  if (maxWidth !== undefined && (!Number.isInteger(maxWidth) || maxWidth < 1)) throw invalidParameterError('positive integer', 'maxWidth', maxWidth);
  const out = jpegSize(image.width, image.height, maxWidth);
  defaultEncoder ??= binding.hasElement('nvjpegenc') ? 'nvjpegenc' : 'jpegenc';
  const element = options.encoder ?? defaultEncoder;
  try {
    return await binding.encodeJpeg(
      image.pixels,
      image.width,
      image.height,
      image.format,
      quality,
      element,
      image.format === 'I420' ? image.yuv : undefined,
      out.width,
      out.height,
    );
  } catch (err) {
    rethrowNative(err, (message) => new CaptureError(`JPEG encoding failed: ${message}`));
  }
}
