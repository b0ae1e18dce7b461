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
  // Tensor channel k takes source byte offset `order[k]` within a pixel.
  const bool swap = src_is_rgb != spec.rgb;
  const int order[3] = {swap ? 2 : 0, 1, swap ? 0 : 2};
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
    for (int k = 0; k < 3; ++k) {
      float* out = dst + plane * k + row_off;
      const int c = order[k];
      for (int x = 0; x < g.scaled_w; ++x) {
        const float a = r0[x0[x] + c], b = r0[x1[x] + c];
        const float cc = r1[x0[x] + c], d = r1[x1[x] + c];
        const float top = a + (b - a) * wx[x];
        const float bot = cc + (d - cc) * wx[x];
        out[x] = (top + (bot - top) * wy) * s;
      }
    }
  }
  return g;
}

}  // namespace bestshot
