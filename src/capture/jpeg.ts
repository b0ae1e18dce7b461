/** JPEG encoding of a retained frame (U1/U2 packages), inside GStreamer. */
import { invalidParameterError, outOfRangeError, rethrowNative, CaptureError } from '../errors.js';
import { loadNative, type NativeBinding } from './native.js';
import type { PixelFormat } from './options.js';

export interface RawImage {
  width: number;
  height: number;
  format: PixelFormat;
  pixels: Uint8Array;
}

export interface JpegOptions {
  /** 1..100, default 85: visually clean for re-analysis at ~1/10 of raw size. */
  quality?: number;
  /** Encoder element; default nvjpegenc where it exists (Jetson), else jpegenc. */
  encoder?: 'jpegenc' | 'nvjpegenc';
}

let defaultEncoder: 'jpegenc' | 'nvjpegenc' | undefined;

export async function encodeJpeg(image: RawImage, options: JpegOptions = {}, binding: NativeBinding = loadNative()): Promise<Buffer> {
  const quality = options.quality ?? 85;
  if (!Number.isInteger(quality)) throw invalidParameterError('integer between 1 and 100', 'quality', quality);
  if (quality < 1 || quality > 100) throw outOfRangeError('integer between 1 and 100', 'quality', quality);
  if (image.format !== 'BGR' && image.format !== 'RGB') throw invalidParameterError("one of 'BGR', 'RGB'", 'format', image.format);
  if (image.pixels.byteLength !== image.width * image.height * 3) {
    throw new RangeError(
      `Expected ${image.width * image.height * 3} bytes for a ${image.width}x${image.height} ${image.format} image but received ${image.pixels.byteLength}`,
    );
  }
  defaultEncoder ??= binding.hasElement('nvjpegenc') ? 'nvjpegenc' : 'jpegenc';
  const element = options.encoder ?? defaultEncoder;
  try {
    return await binding.encodeJpeg(image.pixels, image.width, image.height, image.format, quality, element);
  } catch (err) {
    rethrowNative(err, (message) => new CaptureError(`JPEG encoding failed: ${message}`));
  }
}
