// Letterbox + layout conversion of a packed 8-bit frame into a detector tensor.
// Pure pixel code, no GStreamer, so it can run on the pull thread.
#pragma once
#include <cstdint>
#include <vector>

namespace bestshot {

struct TensorSpec {
  int width = 0;          // tensor width (model input)
  int height = 0;         // tensor height
  bool rgb = false;       // channel order of the tensor: false = BGR
  bool center = false;    // false: image at top-left (YOLOX), true: centered
  float pad_value = 114;  // value of the padding, before scaling
  float scale = 1.0f;     // multiply every value (1 for 0..255, 1/255 for 0..1)
};

struct LetterboxGeometry {
  double ratio = 1;  // tensor px per source px
  int pad_x = 0;     // left offset of the image inside the tensor
  int pad_y = 0;     // top offset
  int scaled_w = 0;
  int scaled_h = 0;
};

// src: packed 3-channel rows (`src_is_rgb` says the order), `stride` bytes per row.
// dst: float32 planar [3][spec.height][spec.width].
// pad_ready: dst already holds this spec's pad around an image of this
// geometry (a reused tensor slot whose last frame had the same size); only
// the image is written then.
LetterboxGeometry LetterboxToPlanarFloat(const uint8_t* src, int src_w, int src_h, int stride,
                                         bool src_is_rgb, const TensorSpec& spec, float* dst,
                                         bool pad_ready = false);

// Where the image lands in a tensor of `spec` for a frame of src_w × src_h.
LetterboxGeometry GeometryFor(int src_w, int src_h, const TensorSpec& spec);

// Resample tight-or-strided I420 planes to dst_w × dst_h (bilinear,
// half-pixel centres; chroma at its own sample positions), rounding to
// 8 bits. The first step of the I420 tensor: the small I420 image is then
// converted by GStreamer's own converter (pipeline.cc), so the detector sees
// the colours a BGR capture's videoconvert would have given it. One shot; the
// pull thread uses I420Resampler below (the same bytes, row bands at a time).
void ResampleI420(const uint8_t* y_plane, int y_stride, const uint8_t* u_plane, const uint8_t* v_plane, int c_stride,
                  int src_w, int src_h, bool h_cosited, int dst_w, int dst_h, uint8_t* dy, int dy_stride, uint8_t* du,
                  uint8_t* dv, int dc_stride);

// Bilinear taps of one axis: output i blends inputs i0[i] and i1[i] with
// weight w[i] of i1 (i1 = i0 + 1 except at a clamped edge, where i1 = i0).
struct Taps {
  std::vector<int> i0, i1;
  std::vector<float> w;
};

// ResampleI420 done as the planes arrive: Rows(plane, …, ready) resamples
// every output row of that plane (0 Y, 1 U, 2 V) not done yet whose source
// rows are all below `ready`. The pull thread resamples the rows of a frame
// right after copying them into the pixel slot, while they are in its cache,
// instead of reading the whole frame back from memory afterwards. The taps
// are kept between frames of the same size. The same bytes as ResampleI420.
class I420Resampler {
 public:
  // The sizes and siting of the next frame; starts every plane at row 0.
  void Prepare(int src_w, int src_h, bool h_cosited, int dst_w, int dst_h);
  // src: the plane's first row; dst: the small plane's first row.
  void Rows(int plane, const uint8_t* src, int stride, int ready, uint8_t* dst, int dst_stride);

 private:
  struct Plane {
    Taps tx, ty;
    int dst_w = 0, dst_h = 0;
    int next = 0;  // first output row not written yet
  };
  void Restart();
  Plane planes_[3];
  std::vector<float> row_;
  int src_w_ = 0, src_h_ = 0, dst_w_ = 0, dst_h_ = 0;
  bool h_cosited_ = false;
};

// Rows of 4-byte pixels (BGRx or RGBx, the 4th byte ignored) of exactly the
// letterbox's scaled size into the tensor (planar float, channel order and
// scale of `spec`), pad written unless pad_ready.
void Packed4ScaledToPlanarFloat(const uint8_t* src, int stride, bool src_is_rgb, const TensorSpec& spec,
                                const LetterboxGeometry& g, float* dst, bool pad_ready);

}  // namespace bestshot
