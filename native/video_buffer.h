#pragma once
#include <gst/gst.h>
#include <gst/video/video.h>
#include <cstdint>
#include <cstring>
#include <string>

#include <napi.h>

namespace bestshot {

// Data pointer and length of a typed array, including one over a
// SharedArrayBuffer (Napi::ArrayBuffer cannot wrap those in Node-API 8).
inline const uint8_t* TypedArrayBytes(Napi::Env env, Napi::Value value, size_t* length) {
  void* data = nullptr;
  size_t count = 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, value, &type, &count, &data, &ab, &offset) != napi_ok || data == nullptr) {
    throw Napi::TypeError::New(env, "expected a typed array with memory");
  }
  *length = value.As<Napi::TypedArray>().ByteLength();
  return static_cast<const uint8_t*>(data);
}

// `rows` rows of `row` bytes from one stride to another (one memcpy when both are tight).
inline void CopyRows(uint8_t* dst, size_t dst_stride, const uint8_t* src, size_t src_stride, size_t row, int rows) {
  if (dst_stride == row && src_stride == row) {
    std::memcpy(dst, src, row * static_cast<size_t>(rows));
    return;
  }
  for (int y = 0; y < rows; ++y) std::memcpy(dst + y * dst_stride, src + y * src_stride, row);
}

// Wrap packed rows (width * bytes-per-pixel, no padding) into a GstBuffer with
// the row stride GStreamer expects for these caps (RGB/BGR rows are 4-byte
// aligned, so odd widths need padding). Returns nullptr when the size is wrong.
inline GstBuffer* PackedToGstBuffer(const uint8_t* data, size_t size, int width, int height, const std::string& format) {
  GstVideoInfo info;
  GstVideoFormat fmt = gst_video_format_from_string(format.c_str());
  if (fmt == GST_VIDEO_FORMAT_UNKNOWN || !gst_video_info_set_format(&info, fmt, width, height)) return nullptr;
  if (fmt == GST_VIDEO_FORMAT_I420) {
    // Tight planes (the addon's frame layout): Y rows of `width` bytes, then
    // U and V rows of (width+1)/2, copied into GStreamer's aligned planes.
    const int cw = (width + 1) / 2, ch = (height + 1) / 2;
    if (size != static_cast<size_t>(width) * height + 2 * static_cast<size_t>(cw) * ch) return nullptr;
    GstBuffer* buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    const uint8_t* src = data;
    for (int p = 0; p < 3; ++p) {
      const int row = p == 0 ? width : cw, rows = p == 0 ? height : ch;
      CopyRows(map.data + GST_VIDEO_INFO_PLANE_OFFSET(&info, p), GST_VIDEO_INFO_PLANE_STRIDE(&info, p), src, row, row, rows);
      src += static_cast<size_t>(row) * rows;
    }
    gst_buffer_unmap(buf, &map);
    return buf;
  }
  if (GST_VIDEO_INFO_N_PLANES(&info) != 1) {
    return size == GST_VIDEO_INFO_SIZE(&info) ? gst_buffer_new_memdup(data, size) : nullptr;
  }
  const size_t row = static_cast<size_t>(GST_VIDEO_INFO_COMP_PSTRIDE(&info, 0)) * width;
  const size_t stride = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
  if (size != row * height) return nullptr;
  if (row == stride) return gst_buffer_new_memdup(data, size);
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  CopyRows(map.data, stride, data, row, row, height);
  gst_buffer_unmap(buf, &map);
  return buf;
}

}  // namespace bestshot
