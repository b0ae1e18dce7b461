// Letterbox + layout conversion of a packed 8-bit frame into a detector tensor.
// Pure pixel code, no GStreamer, so it can run on the pull thread.
#pragma once
#include <cstdint>

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

}  // namespace bestshot
