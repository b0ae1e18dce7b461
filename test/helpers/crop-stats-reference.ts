/**
 * cropStats' I420 figures written the plain way, one pixel at a time, as
 * src/select/crop-stats.ts computed them before its I420 pass was made
 * faster: the specification the fast pass must match bit for bit
 * (test/select/crop-stats-i420.test.ts) and its peer in
 * `npm run bench -- crop-stats`.
 */
import { yuvCoefficients } from '../../src/capture/yuv.js';
import { cropWindow, gridSharpness, HIGHLIGHT_LEVEL, SHADOW_LEVEL, type CropBox, type CropImage, type CropStats } from '../../src/select/crop-stats.js';

export function cropStatsI420Reference(image: CropImage, box: CropBox): CropStats {
  const { width, height, pixels } = image;
  const window = cropWindow(width, height, box);
  if (window === null) return { sharpness: NaN, highlights: 0, shadows: 0, mean: 0 };
  const { x0, y0, w, h, gw, gh } = window;
  const sum = new Float64Array(gw * gh);
  const count = new Uint32Array(gw * gh);
  const yuv = yuvCoefficients(image.yuv);
  const cw = Math.ceil(width / 2);
  const uBase = width * height;
  const vBase = uBase + cw * Math.ceil(height / 2);
  let high = 0;
  let low = 0;
  let total = 0;
  for (let y = 0; y < h; y++) {
    const row = (y0 + y) * width;
    const cRow = ((y0 + y) >> 1) * cw;
    const gy = Math.min(gh - 1, Math.floor((y * gh) / h));
    for (let x = 0; x < w; x++) {
      const c = cRow + ((x0 + x) >> 1);
      const l = (pixels[row + x0 + x]! - yuv.yOffset) * yuv.yGain;
      const u = pixels[uBase + c]! - 128;
      const v = pixels[vBase + c]! - 128;
      const grey = Math.min(255, Math.max(0, l));
      if (l + yuv.rV * v >= HIGHLIGHT_LEVEL || l - yuv.gU * u - yuv.gV * v >= HIGHLIGHT_LEVEL || l + yuv.bU * u >= HIGHLIGHT_LEVEL) high++;
      total += grey;
      if (grey <= SHADOW_LEVEL) low++;
      const cell = gy * gw + Math.min(gw - 1, Math.floor((x * gw) / w));
      count[cell]!++;
      sum[cell]! += grey;
    }
  }
  return { sharpness: gridSharpness(sum, count, gw, gh), highlights: high / (w * h), shadows: low / (w * h), mean: total / (w * h) };
}
