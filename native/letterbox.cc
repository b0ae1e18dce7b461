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

LetterboxGeometry ComputeGeometry(int src_w, int src_h, const TensorSpec& spec) {
  LetterboxGeometry g;
  const int tw = spec.width, th = spec.height;
  g.ratio = std::min(static_cast<double>(tw) / src_w, static_cast<double>(th) / src_h);
  g.scaled_w = std::max(1, std::min(tw, static_cast<int>(std::lround(src_w * g.ratio))));
  g.scaled_h = std::max(1, std::min(th, static_cast<int>(std::lround(src_h * g.ratio))));
  g.pad_x = spec.center ? (tw - g.scaled_w) / 2 : 0;
  g.pad_y = spec.center ? (th - g.scaled_h) / 2 : 0;
  return g;
}

// Linear taps of `n` outputs over `src_n` inputs: output i samples input
// coordinate (i + 0.5) × inv − 0.5 (half-pixel centres, as cv2.resize
// INTER_LINEAR), or (`siting`) the same point on a plane of half the
// resolution (chroma, sited between two luma samples or on the first).
// Clamped to the plane.
struct Taps {
  std::vector<int> i0, i1;
  std::vector<float> w;
};

// kCositedToCosited: output i is a cosited chroma sample of a half-resolution
// output plane (at output luma column 2i), read from a cosited input plane.
enum class Siting { kFull, kHalfCentred, kHalfCosited, kCositedToCosited };

Taps LinearTaps(int n, double inv, int src_n, Siting siting) {
  Taps t;
  t.i0.resize(n);
  t.i1.resize(n);
  t.w.resize(n);
  for (int i = 0; i < n; ++i) {
    const double full = (i + 0.5) * inv - 0.5;
    double s = full;
    if (siting == Siting::kHalfCentred) s = (full + 0.5) / 2 - 0.5;
    if (siting == Siting::kHalfCosited) s = full / 2;
    if (siting == Siting::kCositedToCosited) s = ((2 * i + 0.5) * inv - 0.5) / 2;
    if (s < 0) s = 0;
    int k = static_cast<int>(s);
    if (k > src_n - 1) k = src_n - 1;
    t.i0[i] = k;
    t.i1[i] = std::min(k + 1, src_n - 1);
    t.w[i] = static_cast<float>(s - k);
  }
  return t;
}

// One vertical blend of rows r0 and r1 (weight w of r1) over `span` bytes.
inline void BlendRows(const uint8_t* __restrict r0, const uint8_t* __restrict r1, float w, int span,
                      float* __restrict out) {
  const float w0 = 1.0f - w;
  for (int i = 0; i < span; ++i) out[i] = static_cast<float>(r0[i]) * w0 + static_cast<float>(r1[i]) * w;
}

}  // namespace

LetterboxGeometry LetterboxToPlanarFloat(const uint8_t* src, int src_w, int src_h, int stride, bool src_is_rgb,
                                         const TensorSpec& spec, float* dst, bool pad_ready) {
  const LetterboxGeometry g = ComputeGeometry(src_w, src_h, spec);
  const int tw = spec.width, th = spec.height;

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

LetterboxGeometry LetterboxI420ToPlanarFloat(const uint8_t* y_plane, int y_stride, const uint8_t* u_plane,
                                             const uint8_t* v_plane, int c_stride, int src_w, int src_h,
                                             const YuvMatrix& matrix, const TensorSpec& spec, float* dst,
                                             bool pad_ready) {
  const LetterboxGeometry g = ComputeGeometry(src_w, src_h, spec);
  const int tw = spec.width, th = spec.height;
  const size_t plane = static_cast<size_t>(tw) * th;
  const float s = spec.scale;
  if (!pad_ready) FillPad(dst, tw, th, g, spec.pad_value * s);

  const int cw = (src_w + 1) / 2, ch = (src_h + 1) / 2;
  const double inv_x = static_cast<double>(src_w) / g.scaled_w;
  const double inv_y = static_cast<double>(src_h) / g.scaled_h;
  const Taps lx = LinearTaps(g.scaled_w, inv_x, src_w, Siting::kFull);
  const Taps cx = LinearTaps(g.scaled_w, inv_x, cw, matrix.h_cosited ? Siting::kHalfCosited : Siting::kHalfCentred);
  const Taps ly = LinearTaps(g.scaled_h, inv_y, src_h, Siting::kFull);
  const Taps cy = LinearTaps(g.scaled_h, inv_y, ch, Siting::kHalfCentred);

  // R' = Y + 2(1−Kr)·Cr, B' = Y + 2(1−Kb)·Cb, G' = (Y − Kr R' − Kb B') / Kg,
  // with Y and Cb/Cr scaled from the 8-bit range (ITU-R BT.601/709 form).
  const double kg = 1.0 - matrix.kr - matrix.kb;
  const float y_off = matrix.full_range ? 0.0f : 16.0f;
  const float y_gain = matrix.full_range ? 1.0f : 255.0f / 219.0f;
  const double c_gain = matrix.full_range ? 1.0 : 255.0 / 224.0;
  const float r_v = static_cast<float>(c_gain * 2 * (1 - matrix.kr));
  const float b_u = static_cast<float>(c_gain * 2 * (1 - matrix.kb));
  const float g_u = static_cast<float>(c_gain * 2 * matrix.kb * (1 - matrix.kb) / kg);
  const float g_v = static_cast<float>(c_gain * 2 * matrix.kr * (1 - matrix.kr) / kg);

  const int span_y = lx.i1[g.scaled_w - 1] + 1;
  const int span_c = cx.i1[g.scaled_w - 1] + 1;
  std::vector<float> by(span_y), bu(span_c), bv(span_c);
  const bool rgb = spec.rgb;
  for (int y = 0; y < g.scaled_h; ++y) {
    BlendRows(y_plane + static_cast<size_t>(ly.i0[y]) * y_stride, y_plane + static_cast<size_t>(ly.i1[y]) * y_stride,
              ly.w[y], span_y, by.data());
    BlendRows(u_plane + static_cast<size_t>(cy.i0[y]) * c_stride, u_plane + static_cast<size_t>(cy.i1[y]) * c_stride,
              cy.w[y], span_c, bu.data());
    BlendRows(v_plane + static_cast<size_t>(cy.i0[y]) * c_stride, v_plane + static_cast<size_t>(cy.i1[y]) * c_stride,
              cy.w[y], span_c, bv.data());
    const size_t row_off = static_cast<size_t>(y + g.pad_y) * tw + g.pad_x;
    float* __restrict out_r = dst + (rgb ? 0 : 2 * plane) + row_off;
    float* __restrict out_g = dst + plane + row_off;
    float* __restrict out_b = dst + (rgb ? 2 * plane : 0) + row_off;
    for (int x = 0; x < g.scaled_w; ++x) {
      const float fy = by[lx.i0[x]] + (by[lx.i1[x]] - by[lx.i0[x]]) * lx.w[x];
      const float fu = bu[cx.i0[x]] + (bu[cx.i1[x]] - bu[cx.i0[x]]) * cx.w[x] - 128.0f;
      const float fv = bv[cx.i0[x]] + (bv[cx.i1[x]] - bv[cx.i0[x]]) * cx.w[x] - 128.0f;
      const float yy = (fy - y_off) * y_gain;
      // Clamped to 0..255 as the 8-bit BGR frame a converter would have made.
      out_r[x] = std::min(255.0f, std::max(0.0f, yy + r_v * fv)) * s;
      out_g[x] = std::min(255.0f, std::max(0.0f, yy - g_u * fu - g_v * fv)) * s;
      out_b[x] = std::min(255.0f, std::max(0.0f, yy + b_u * fu)) * s;
    }
  }
  return g;
}

LetterboxGeometry GeometryFor(int src_w, int src_h, const TensorSpec& spec) { return ComputeGeometry(src_w, src_h, spec); }

namespace {

void ResamplePlane(const uint8_t* src, int stride, int src_w, int src_h, const Taps& tx, const Taps& ty, int dst_w,
                   int dst_h, uint8_t* dst, int dst_stride) {
  const int span = tx.i1[dst_w - 1] + 1;
  std::vector<float> row(span);
  for (int y = 0; y < dst_h; ++y) {
    const uint8_t* r0 = src + static_cast<size_t>(ty.i0[y]) * stride;
    const uint8_t* r1 = src + static_cast<size_t>(ty.i1[y]) * stride;
    const float w = ty.w[y], w0 = 1.0f - w;
    for (int i = 0; i < span; ++i) row[i] = static_cast<float>(r0[i]) * w0 + static_cast<float>(r1[i]) * w;
    uint8_t* out = dst + static_cast<size_t>(y) * dst_stride;
    for (int x = 0; x < dst_w; ++x) {
      const float a = row[tx.i0[x]], b = row[tx.i1[x]];
      out[x] = static_cast<uint8_t>(a + (b - a) * tx.w[x] + 0.5f);
    }
  }
  (void)src_w;
  (void)src_h;
}

}  // namespace

void ResampleI420(const uint8_t* y_plane, int y_stride, const uint8_t* u_plane, const uint8_t* v_plane, int c_stride,
                  int src_w, int src_h, bool h_cosited, int dst_w, int dst_h, uint8_t* dy, int dy_stride, uint8_t* du,
                  uint8_t* dv, int dc_stride) {
  const int cw = (src_w + 1) / 2, ch = (src_h + 1) / 2;
  const int dcw = (dst_w + 1) / 2, dch = (dst_h + 1) / 2;
  const double inv_x = static_cast<double>(src_w) / dst_w, inv_y = static_cast<double>(src_h) / dst_h;
  ResamplePlane(y_plane, y_stride, src_w, src_h, LinearTaps(dst_w, inv_x, src_w, Siting::kFull),
                LinearTaps(dst_h, inv_y, src_h, Siting::kFull), dst_w, dst_h, dy, dy_stride);
  // Chroma plane to chroma plane: the same scale, each plane's own centres
  // (a cosited plane keeps its first sample on the first luma column).
  const double cinv_x = static_cast<double>(cw) / dcw, cinv_y = static_cast<double>(ch) / dch;
  const Taps ctx = h_cosited ? LinearTaps(dcw, inv_x, cw, Siting::kCositedToCosited) : LinearTaps(dcw, cinv_x, cw, Siting::kFull);
  const Taps cty = LinearTaps(dch, cinv_y, ch, Siting::kFull);
  ResamplePlane(u_plane, c_stride, cw, ch, ctx, cty, dcw, dch, du, dc_stride);
  ResamplePlane(v_plane, c_stride, cw, ch, ctx, cty, dcw, dch, dv, dc_stride);
}

void PackedScaledToPlanarFloat(const uint8_t* src, int stride, bool src_is_rgb, const TensorSpec& spec,
                               const LetterboxGeometry& g, float* dst, bool pad_ready) {
  const int tw = spec.width, th = spec.height;
  const size_t plane = static_cast<size_t>(tw) * th;
  const float s = spec.scale;
  if (!pad_ready) FillPad(dst, tw, th, g, spec.pad_value * s);
  const bool swap = src_is_rgb != spec.rgb;
  const int o0 = swap ? 2 : 0, o2 = swap ? 0 : 2;
  for (int y = 0; y < g.scaled_h; ++y) {
    const uint8_t* __restrict in = src + static_cast<size_t>(y) * stride;
    const size_t row_off = static_cast<size_t>(y + g.pad_y) * tw + g.pad_x;
    float* __restrict out0 = dst + row_off;
    float* __restrict out1 = dst + plane + row_off;
    float* __restrict out2 = dst + 2 * plane + row_off;
    for (int x = 0; x < g.scaled_w; ++x) {
      out0[x] = static_cast<float>(in[3 * x + o0]) * s;
      out1[x] = static_cast<float>(in[3 * x + 1]) * s;
      out2[x] = static_cast<float>(in[3 * x + o2]) * s;
    }
  }
}

}  // namespace bestshot
