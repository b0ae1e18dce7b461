#include "letterbox.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace bestshot {

namespace {

// Only the pad around the image: the image rows are all written afterwards,
// so filling the whole tensor first wrote ~1.2 MB twice per 16:9 frame.
void FillPad(float* dst, int tw, int th, const LetterboxGeometry& g, float pad) {
  const size_t plane = static_cast<size_t>(tw) * th;
  for (int c = 0; c < 3; ++c) {
    float* p = dst + c * plane;
    std::fill(p, p + static_cast<size_t>(g.pad_y) * tw, pad);
    for (int y = g.pad_y; y < g.pad_y + g.scaled_h; ++y) {
      float* row = p + static_cast<size_t>(y) * tw;
      std::fill(row, row + g.pad_x, pad);
      std::fill(row + g.pad_x + g.scaled_w, row + tw, pad);
    }
    std::fill(p + static_cast<size_t>(g.pad_y + g.scaled_h) * tw, p + plane, pad);
  }
}

}  // namespace

LetterboxGeometry LetterboxToPlanarFloat(const uint8_t* src, int src_w, int src_h, int stride, bool src_is_rgb,
                                         const TensorSpec& spec, float* dst, bool pad_ready) {
  LetterboxGeometry g;
  const int tw = spec.width, th = spec.height;
  g.ratio = std::min(static_cast<double>(tw) / src_w, static_cast<double>(th) / src_h);
  g.scaled_w = std::max(1, std::min(tw, static_cast<int>(std::lround(src_w * g.ratio))));
  g.scaled_h = std::max(1, std::min(th, static_cast<int>(std::lround(src_h * g.ratio))));
  g.pad_x = spec.center ? (tw - g.scaled_w) / 2 : 0;
  g.pad_y = spec.center ? (th - g.scaled_h) / 2 : 0;

  const size_t plane = static_cast<size_t>(tw) * th;
  const float s = spec.scale;
  if (!pad_ready) FillPad(dst, tw, th, g, spec.pad_value * s);

  // Bilinear sampling with half-pixel centres (as cv2.resize INTER_LINEAR).
  const int sw = g.scaled_w;
  const double inv_x = static_cast<double>(src_w) / sw;
  const double inv_y = static_cast<double>(src_h) / g.scaled_h;
  std::vector<int> x0(sw), x1(sw);
  std::vector<float> wx(sw);
  for (int x = 0; x < sw; ++x) {
    double sx = (x + 0.5) * inv_x - 0.5;
    if (sx < 0) sx = 0;
    int ix = static_cast<int>(sx);
    if (ix > src_w - 1) ix = src_w - 1;
    x0[x] = ix * 3;
    x1[x] = std::min(ix + 1, src_w - 1) * 3;
    wx[x] = static_cast<float>(sx - ix);
  }
  // Vertical first: the two source rows are blended over the bytes the image
  // needs into one float row (contiguous, so the compiler vectorises it: SSE
  // on x86-64, NEON on a Jetson), then each tensor pixel is a horizontal
  // blend of two entries of that row. Half the time of blending four
  // gathered bytes per channel and pixel, for the same values up to float
  // rounding (the D1 letterbox test holds it to the JavaScript reference).
  const int span = x1[sw - 1] + 3;
  std::vector<float> blended(span);
  const bool swap = src_is_rgb != spec.rgb;
  const int o0 = swap ? 2 : 0, o2 = swap ? 0 : 2;
  for (int y = 0; y < g.scaled_h; ++y) {
    double sy = (y + 0.5) * inv_y - 0.5;
    if (sy < 0) sy = 0;
    int iy = static_cast<int>(sy);
    if (iy > src_h - 1) iy = src_h - 1;
    const int iy1 = std::min(iy + 1, src_h - 1);
    const float wy = static_cast<float>(sy - iy);
    const uint8_t* __restrict r0 = src + static_cast<size_t>(iy) * stride;
    const uint8_t* __restrict r1 = src + static_cast<size_t>(iy1) * stride;
    float* __restrict v = blended.data();
    const float w0 = (1.0f - wy) * s, w1 = wy * s;
    for (int i = 0; i < span; ++i) v[i] = static_cast<float>(r0[i]) * w0 + static_cast<float>(r1[i]) * w1;
    const size_t row_off = static_cast<size_t>(y + g.pad_y) * tw + g.pad_x;
    float* __restrict out0 = dst + row_off;
    float* __restrict out1 = dst + plane + row_off;
    float* __restrict out2 = dst + 2 * plane + row_off;
    for (int x = 0; x < sw; ++x) {
      const float* a = v + x0[x];
      const float* b = v + x1[x];
      const float fx = wx[x];
      out0[x] = a[o0] + (b[o0] - a[o0]) * fx;
      out1[x] = a[1] + (b[1] - a[1]) * fx;
      out2[x] = a[o2] + (b[o2] - a[o2]) * fx;
    }
  }
  return g;
}

}  // namespace bestshot
