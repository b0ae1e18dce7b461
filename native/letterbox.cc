#include "letterbox.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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

LetterboxGeometry GeometryFor(int src_w, int src_h, const TensorSpec& spec) {
  LetterboxGeometry g;
  const int tw = spec.width, th = spec.height;
  g.ratio = std::min(static_cast<double>(tw) / src_w, static_cast<double>(th) / src_h);
  g.scaled_w = std::max(1, std::min(tw, static_cast<int>(std::lround(src_w * g.ratio))));
  g.scaled_h = std::max(1, std::min(th, static_cast<int>(std::lround(src_h * g.ratio))));
  g.pad_x = spec.center ? (tw - g.scaled_w) / 2 : 0;
  g.pad_y = spec.center ? (th - g.scaled_h) / 2 : 0;
  return g;
}

namespace {

// kCositedToCosited: output i is instead a chroma sample sited on output
// luma column 2i (MPEG-2 siting), read from a plane sited the same way;
// `inv` is then the luma planes' scale.
enum class Siting { kCentred, kCositedToCosited };

// Linear taps of `n` outputs over `src_n` inputs (Taps, letterbox.h):
// output i samples input coordinate (i + 0.5) × inv − 0.5 (half-pixel
// centres, as cv2.resize INTER_LINEAR), clamped to the plane.
Taps LinearTaps(int n, double inv, int src_n, Siting siting) {
  Taps t;
  t.i0.resize(n);
  t.i1.resize(n);
  t.w.resize(n);
  for (int i = 0; i < n; ++i) {
    double s = siting == Siting::kCentred ? (i + 0.5) * inv - 0.5 : ((2 * i + 0.5) * inv - 0.5) / 2;
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

namespace {

// x86-64: an AVX2 copy of the row loops beside the SSE2 one, picked at load
// time by the CPU (GCC function multiversioning); the build still runs on
// every x86-64. letterbox.cc is compiled with -ffp-contract=off, so both
// copies give the same floats. Elsewhere (a Jetson: NEON) one copy.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BESTSHOT_PIXEL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define BESTSHOT_PIXEL_CLONES
#endif

typedef float Float4 __attribute__((vector_size(16)));

// The letterbox's rows, one channel order per instantiation (kO0/kO2: the
// source byte of tensor channels 0 and 2).
template <int kO0, int kO2>
BESTSHOT_PIXEL_CLONES void LetterboxRows(const uint8_t* src, int stride, const Taps& tx, const Taps& ty,
                                         const TensorSpec& spec, const LetterboxGeometry& g, float* dst) {
  const int tw = spec.width;
  const size_t plane = static_cast<size_t>(tw) * spec.height;
  const float s = spec.scale;
  const int sw = g.scaled_w;
  // Vertical first: the two source rows are blended over the bytes the image
  // needs into one float row (contiguous, so the compiler vectorises it: SSE
  // or AVX2 on x86-64, NEON on a Jetson), then each tensor pixel is a
  // horizontal blend of two entries of that row. Half the time of blending
  // four gathered bytes per channel and pixel, for the same values up to
  // float rounding (the D1 letterbox test holds it to the JavaScript
  // reference).
  const int span = tx.i1[sw - 1] * 3 + 3;
  std::vector<float> blended(span + 1);  // + 1: the last pixel's 4-float load
  for (int y = 0; y < g.scaled_h; ++y) {
    const float wy = ty.w[y];
    const uint8_t* __restrict r0 = src + static_cast<size_t>(ty.i0[y]) * stride;
    const uint8_t* __restrict r1 = src + static_cast<size_t>(ty.i1[y]) * stride;
    float* __restrict v = blended.data();
    const float w0 = (1.0f - wy) * s, w1 = wy * s;
    for (int i = 0; i < span; ++i) v[i] = static_cast<float>(r0[i]) * w0 + static_cast<float>(r1[i]) * w1;
    const size_t row_off = static_cast<size_t>(y + g.pad_y) * tw + g.pad_x;
    float* __restrict out0 = dst + row_off;
    float* __restrict out1 = dst + plane + row_off;
    float* __restrict out2 = dst + 2 * plane + row_off;
    // Four tensor pixels at a time: each pixel's three channels are one
    // 4-float blend of its two taps (the 4th lane unused), then the four
    // pixels are transposed into the three planes. The same operations per
    // value as one channel at a time, so the same floats.
    int x = 0;
    for (; x + 4 <= sw; x += 4) {
      Float4 p[4];
      for (int k = 0; k < 4; ++k) {
        Float4 a, b;
        std::memcpy(&a, v + 3 * tx.i0[x + k], sizeof a);
        std::memcpy(&b, v + 3 * tx.i1[x + k], sizeof b);
        p[k] = a + (b - a) * tx.w[x + k];
      }
      const Float4 c0 = {p[0][kO0], p[1][kO0], p[2][kO0], p[3][kO0]};
      const Float4 c1 = {p[0][1], p[1][1], p[2][1], p[3][1]};
      const Float4 c2 = {p[0][kO2], p[1][kO2], p[2][kO2], p[3][kO2]};
      std::memcpy(out0 + x, &c0, sizeof c0);
      std::memcpy(out1 + x, &c1, sizeof c1);
      std::memcpy(out2 + x, &c2, sizeof c2);
    }
    for (; x < sw; ++x) {
      const float* a = v + 3 * tx.i0[x];
      const float* b = v + 3 * tx.i1[x];
      const float fx = tx.w[x];
      out0[x] = a[kO0] + (b[kO0] - a[kO0]) * fx;
      out1[x] = a[1] + (b[1] - a[1]) * fx;
      out2[x] = a[kO2] + (b[kO2] - a[kO2]) * fx;
    }
  }
}

}  // namespace

LetterboxGeometry LetterboxToPlanarFloat(const uint8_t* src, int src_w, int src_h, int stride, bool src_is_rgb,
                                         const TensorSpec& spec, float* dst, bool pad_ready) {
  const LetterboxGeometry g = GeometryFor(src_w, src_h, spec);
  if (!pad_ready) FillPad(dst, spec.width, spec.height, g, spec.pad_value * spec.scale);
  // Bilinear sampling with half-pixel centres (as cv2.resize INTER_LINEAR).
  const int sw = g.scaled_w;
  const Taps tx = LinearTaps(sw, static_cast<double>(src_w) / sw, src_w, Siting::kCentred);
  const Taps ty = LinearTaps(g.scaled_h, static_cast<double>(src_h) / g.scaled_h, src_h, Siting::kCentred);
  if (src_is_rgb != spec.rgb) {
    LetterboxRows<2, 0>(src, stride, tx, ty, spec, g, dst);
  } else {
    LetterboxRows<0, 2>(src, stride, tx, ty, spec, g, dst);
  }
  return g;
}

namespace {

// One plane's output rows [y0, y1), vertical blend first (contiguous,
// vectorised), then two taps per output sample, rounded to 8 bits, four
// samples at a time (their taps loaded one by one, blended, rounded and
// converted as one vector: the same operations per value as one at a time,
// so the same bytes). `row`: room for the blended source span.
BESTSHOT_PIXEL_CLONES void ResamplePlane(const uint8_t* src, int stride, const Taps& tx, const Taps& ty, int dst_w,
                                         int y0, int y1, uint8_t* dst, int dst_stride, float* row) {
  typedef int Int4 __attribute__((vector_size(16)));
  const int span = tx.i1[dst_w - 1] + 1;
  for (int y = y0; y < y1; ++y) {
    BlendRows(src + static_cast<size_t>(ty.i0[y]) * stride, src + static_cast<size_t>(ty.i1[y]) * stride, ty.w[y], span,
              row);
    uint8_t* out = dst + static_cast<size_t>(y) * dst_stride;
    const float* r = row;
    int x = 0;
    for (; x + 4 <= dst_w; x += 4) {
      const int* i0 = &tx.i0[x];
      const int* i1 = &tx.i1[x];
      const Float4 a = {r[i0[0]], r[i0[1]], r[i0[2]], r[i0[3]]};
      const Float4 b = {r[i1[0]], r[i1[1]], r[i1[2]], r[i1[3]]};
      Float4 w;
      std::memcpy(&w, &tx.w[x], sizeof w);
      const Int4 q = __builtin_convertvector(a + (b - a) * w + 0.5f, Int4);
      for (int k = 0; k < 4; ++k) out[x + k] = static_cast<uint8_t>(q[k]);
    }
    for (; x < dst_w; ++x) {
      const float a = r[tx.i0[x]], b = r[tx.i1[x]];
      out[x] = static_cast<uint8_t>(a + (b - a) * tx.w[x] + 0.5f);
    }
  }
}

}  // namespace

void I420Resampler::Prepare(int src_w, int src_h, bool h_cosited, int dst_w, int dst_h) {
  if (src_w == src_w_ && src_h == src_h_ && h_cosited == h_cosited_ && dst_w == dst_w_ && dst_h == dst_h_) {
    Restart();
    return;
  }
  src_w_ = src_w;
  src_h_ = src_h;
  h_cosited_ = h_cosited;
  dst_w_ = dst_w;
  dst_h_ = dst_h;
  const int cw = (src_w + 1) / 2, ch = (src_h + 1) / 2;
  const int dcw = (dst_w + 1) / 2, dch = (dst_h + 1) / 2;
  const double inv_x = static_cast<double>(src_w) / dst_w, inv_y = static_cast<double>(src_h) / dst_h;
  planes_[0].tx = LinearTaps(dst_w, inv_x, src_w, Siting::kCentred);
  planes_[0].ty = LinearTaps(dst_h, inv_y, src_h, Siting::kCentred);
  planes_[0].dst_w = dst_w;
  planes_[0].dst_h = dst_h;
  // Chroma plane to chroma plane: the same scale, each plane's own centres
  // (a cosited plane keeps its first sample on the first luma column).
  const double cinv_x = static_cast<double>(cw) / dcw, cinv_y = static_cast<double>(ch) / dch;
  for (int p = 1; p < 3; ++p) {
    planes_[p].tx = h_cosited ? LinearTaps(dcw, inv_x, cw, Siting::kCositedToCosited) : LinearTaps(dcw, cinv_x, cw, Siting::kCentred);
    planes_[p].ty = LinearTaps(dch, cinv_y, ch, Siting::kCentred);
    planes_[p].dst_w = dcw;
    planes_[p].dst_h = dch;
  }
  size_t span = 0;
  for (const Plane& pl : planes_) span = std::max(span, static_cast<size_t>(pl.tx.i1[pl.dst_w - 1] + 1));
  row_.assign(span, 0.0f);
  Restart();
}

void I420Resampler::Restart() {
  for (Plane& pl : planes_) pl.next = 0;
}

void I420Resampler::Rows(int plane, const uint8_t* src, int stride, int ready, uint8_t* dst, int dst_stride) {
  Plane& pl = planes_[plane];
  // ty.i1 never decreases: the rows to do now are a prefix of the rest.
  int end = pl.next;
  while (end < pl.dst_h && pl.ty.i1[end] < ready) ++end;
  if (end > pl.next) ResamplePlane(src, stride, pl.tx, pl.ty, pl.dst_w, pl.next, end, dst, dst_stride, row_.data());
  pl.next = end;
}

void ResampleI420(const uint8_t* y_plane, int y_stride, const uint8_t* u_plane, const uint8_t* v_plane, int c_stride,
                  int src_w, int src_h, bool h_cosited, int dst_w, int dst_h, uint8_t* dy, int dy_stride, uint8_t* du,
                  uint8_t* dv, int dc_stride) {
  I420Resampler r;
  r.Prepare(src_w, src_h, h_cosited, dst_w, dst_h);
  const int ch = (src_h + 1) / 2;
  r.Rows(0, y_plane, y_stride, src_h, dy, dy_stride);
  r.Rows(1, u_plane, c_stride, ch, du, dc_stride);
  r.Rows(2, v_plane, c_stride, ch, dv, dc_stride);
}

namespace {

// One channel order per instantiation: with the byte offsets known at compile
// time GCC vectorises the 4-byte pixel loads (SSE2 / NEON); with them chosen
// at run time, or with 3-byte pixels, the loop stayed scalar (2.5× slower).
template <int kO0, int kO2>
void QuadRowsToPlanes(const uint8_t* src, int stride, const TensorSpec& spec, const LetterboxGeometry& g, float* dst) {
  const int tw = spec.width;
  const size_t plane = static_cast<size_t>(tw) * spec.height;
  const float s = spec.scale;
  for (int y = 0; y < g.scaled_h; ++y) {
    const uint8_t* __restrict in = src + static_cast<size_t>(y) * stride;
    const size_t row_off = static_cast<size_t>(y + g.pad_y) * tw + g.pad_x;
    float* __restrict out0 = dst + row_off;
    float* __restrict out1 = dst + plane + row_off;
    float* __restrict out2 = dst + 2 * plane + row_off;
    for (int x = 0; x < g.scaled_w; ++x) {
      out0[x] = static_cast<float>(in[4 * x + kO0]) * s;
      out1[x] = static_cast<float>(in[4 * x + 1]) * s;
      out2[x] = static_cast<float>(in[4 * x + kO2]) * s;
    }
  }
}

}  // namespace

void Packed4ScaledToPlanarFloat(const uint8_t* src, int stride, bool src_is_rgb, const TensorSpec& spec,
                                const LetterboxGeometry& g, float* dst, bool pad_ready) {
  if (!pad_ready) FillPad(dst, spec.width, spec.height, g, spec.pad_value * spec.scale);
  if (src_is_rgb != spec.rgb) {
    QuadRowsToPlanes<2, 0>(src, stride, spec, g, dst);
  } else {
    QuadRowsToPlanes<0, 2>(src, stride, spec, g, dst);
  }
}

}  // namespace bestshot
