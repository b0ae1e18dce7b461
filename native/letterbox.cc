#include "letterbox.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace bestshot {

LetterboxGeometry LetterboxToPlanarFloat(const uint8_t* src, int src_w, int src_h, int stride,
                                         bool src_is_rgb, const TensorSpec& spec, float* dst) {
  LetterboxGeometry g;
  const int tw = spec.width, th = spec.height;
  g.ratio = std::min(static_cast<double>(tw) / src_w, static_cast<double>(th) / src_h);
  g.scaled_w = std::max(1, std::min(tw, static_cast<int>(std::lround(src_w * g.ratio))));
  g.scaled_h = std::max(1, std::min(th, static_cast<int>(std::lround(src_h * g.ratio))));
  g.pad_x = spec.center ? (tw - g.scaled_w) / 2 : 0;
  g.pad_y = spec.center ? (th - g.scaled_h) / 2 : 0;

  const size_t plane = static_cast<size_t>(tw) * th;
  const float pad = spec.pad_value * spec.scale;
  std::fill(dst, dst + plane * 3, pad);

  // Bilinear sampling with half-pixel centres (as cv2.resize INTER_LINEAR).
  const double inv_x = static_cast<double>(src_w) / g.scaled_w;
  const double inv_y = static_cast<double>(src_h) / g.scaled_h;
  std::vector<int> x0(g.scaled_w), x1(g.scaled_w);
  std::vector<float> wx(g.scaled_w);
  for (int x = 0; x < g.scaled_w; ++x) {
    double sx = (x + 0.5) * inv_x - 0.5;
    if (sx < 0) sx = 0;
    int ix = static_cast<int>(sx);
    if (ix > src_w - 1) ix = src_w - 1;
    x0[x] = ix * 3;
    x1[x] = std::min(ix + 1, src_w - 1) * 3;
    wx[x] = static_cast<float>(sx - ix);
  }
  // Tensor plane k takes source byte `order[k]` of each pixel. One pass per
  // output row computes all three channels (one read of each source pixel).
  const bool swap = src_is_rgb != spec.rgb;
  const int o0 = swap ? 2 : 0, o2 = swap ? 0 : 2;
  const float s = spec.scale;
  for (int y = 0; y < g.scaled_h; ++y) {
    double sy = (y + 0.5) * inv_y - 0.5;
    if (sy < 0) sy = 0;
    int iy = static_cast<int>(sy);
    if (iy > src_h - 1) iy = src_h - 1;
    const int iy1 = std::min(iy + 1, src_h - 1);
    const float wy = static_cast<float>(sy - iy);
    const uint8_t* r0 = src + static_cast<size_t>(iy) * stride;
    const uint8_t* r1 = src + static_cast<size_t>(iy1) * stride;
    const size_t row_off = static_cast<size_t>(y + g.pad_y) * tw + g.pad_x;
    float* out0 = dst + row_off;
    float* out1 = dst + plane + row_off;
    float* out2 = dst + 2 * plane + row_off;
    const float w00 = 1.0f - wy;
    for (int x = 0; x < g.scaled_w; ++x) {
      const uint8_t* a = r0 + x0[x];
      const uint8_t* b = r0 + x1[x];
      const uint8_t* c = r1 + x0[x];
      const uint8_t* d = r1 + x1[x];
      const float fx = wx[x], gx = 1.0f - fx;
      const float wa = gx * w00 * s, wb = fx * w00 * s, wc = gx * wy * s, wd = fx * wy * s;
      out0[x] = a[o0] * wa + b[o0] * wb + c[o0] * wc + d[o0] * wd;
      out1[x] = a[1] * wa + b[1] * wb + c[1] * wc + d[1] * wd;
      out2[x] = a[o2] * wa + b[o2] * wb + c[o2] * wc + d[o2] * wd;
    }
  }
  return g;
}

}  // namespace bestshot
