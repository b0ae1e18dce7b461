// JPEG encoding of a retained frame through GStreamer (jpegenc, or nvjpegenc
// on Jetson). One small appsrc ! videoconvert ! encoder ! appsink pipeline is
// kept per (size, format, element) and reused; calls on the same encoder are
// serialised by its mutex. The work runs on a libuv pool thread for a bounded
// time (one frame), never waiting on a camera.
#include "jpeg.h"
#include "video_buffer.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace bestshot {
namespace {

struct Encoder {
  std::mutex mutex;
  GstElement* pipeline = nullptr;
  GstAppSrc* src = nullptr;
  GstAppSink* sink = nullptr;
  GstElement* enc = nullptr;
  uint64_t frames = 0;
  ~Encoder() {
    if (pipeline) gst_element_set_state(pipeline, GST_STATE_NULL);
    if (src) gst_object_unref(src);
    if (sink) gst_object_unref(sink);
    if (enc) gst_object_unref(enc);
    if (pipeline) gst_object_unref(pipeline);
  }
};

// The encoders most recently used, newest first. Bounded: crops come in
// every size, and each encoder pipeline holds threads, a bus and file
// descriptors (an evaluation that cut ~10 000 crop sizes ran out of 20 000
// descriptors). An evicted encoder is torn down once the last call using it
// has finished (shared_ptr). A camera's frame size stays near the front.
constexpr size_t kMaxEncoders = 16;
std::mutex g_cache_mutex;
std::list<std::pair<std::string, std::shared_ptr<Encoder>>> g_cache;

// jpegenc writes what it is given: BGR/RGB as an RGB-colour-space JPEG
// (three full-resolution channels, all with the luma table: 2.8× the bytes
// of the same image in Y'CbCr 4:2:0 at the same quality, and about twice the
// encoding time), I420 as 4:2:0 Y'CbCr read as JFIF's full-range BT.601 with
// centred chroma. So every frame reaches the encoder as exactly that: a
// baseline JFIF 4:2:0 JPEG, the kind every decoder and cloud pipeline
// expects. An I420 frame goes through BGRx first, the conversion a BGR
// capture makes, so its JPEG is the BGR capture's; GStreamer 1.22's
// videoconvert skips a conversion between two Y'CbCr forms of the same matrix
// (BT.601 limited range "converted" to full range kept black at 16), which a
// direct I420 → I420 step would hit (docs/performance.md "Package JPEGs").
std::string ToEncoderCaps(const std::string& format, const std::string& element) {
  if (element != "jpegenc") return "";
  const std::string jfif = "video/x-raw,format=I420,colorimetry=1:4:0:0,chroma-site=jpeg ! ";
  return format == "I420" ? "video/x-raw,format=BGRx ! videoconvert ! " + jfif : jfif;
}

// jpegenc hands the planes to libjpeg as raw data, and libjpeg reads each row
// to the next multiple of 8 samples: an I420 frame whose width is not a
// multiple of 16 is read past its width, into the stride's padding (never
// written by videoconvert) and, for the chroma rows, into the next row or past
// the buffer. Those bytes go into the DCT of the right-hand blocks, so the
// JPEG depended on stale memory: the same frame gave other bytes in another
// process, and the I420 and BGR captures of one frame other JPEGs at 854 px
// (docs/performance.md "A JPEG that depended on stale memory"). This probe gives jpegenc a copy whose
// rows are padded to a multiple of 16 with the row's last sample repeated
// (what libjpeg does itself for non-raw input), described by a GstVideoMeta,
// which jpegenc's frame mapping reads. Rows below the frame are the last row
// repeated by jpegenc already.
GstPadProbeReturn PadRowsToBlocks(GstPad* pad, GstPadProbeInfo* info, gpointer) {
  GstBuffer* in = GST_PAD_PROBE_INFO_BUFFER(info);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  GstVideoInfo vinfo;
  const bool known = caps != nullptr && gst_video_info_from_caps(&vinfo, caps);
  if (caps != nullptr) gst_caps_unref(caps);
  if (!known || GST_VIDEO_INFO_FORMAT(&vinfo) != GST_VIDEO_FORMAT_I420) return GST_PAD_PROBE_OK;
  GstVideoFrame src;
  if (!gst_video_frame_map(&src, &vinfo, in, GST_MAP_READ)) return GST_PAD_PROBE_OK;
  gsize offsets[GST_VIDEO_MAX_PLANES] = {0};
  gint strides[GST_VIDEO_MAX_PLANES] = {0};
  gsize size = 0;
  for (guint p = 0; p < 3; p++) {
    strides[p] = (GST_VIDEO_FRAME_COMP_WIDTH(&src, p) + 15) & ~15;
    offsets[p] = size;
    size += static_cast<gsize>(strides[p]) * GST_VIDEO_FRAME_COMP_HEIGHT(&src, p);
  }
  GstBuffer* out = gst_buffer_new_allocate(nullptr, size, nullptr);
  GstMapInfo map;
  if (out == nullptr || !gst_buffer_map(out, &map, GST_MAP_WRITE)) {
    if (out != nullptr) gst_buffer_unref(out);
    gst_video_frame_unmap(&src);
    return GST_PAD_PROBE_OK;
  }
  for (guint p = 0; p < 3; p++) {
    const int w = GST_VIDEO_FRAME_COMP_WIDTH(&src, p);
    const int h = GST_VIDEO_FRAME_COMP_HEIGHT(&src, p);
    const int from = GST_VIDEO_FRAME_COMP_STRIDE(&src, p);
    const uint8_t* row = static_cast<const uint8_t*>(GST_VIDEO_FRAME_COMP_DATA(&src, p));
    uint8_t* dst = map.data + offsets[p];
    for (int y = 0; y < h; y++, row += from, dst += strides[p]) {
      std::memcpy(dst, row, w);
      std::memset(dst + w, row[w - 1], strides[p] - w);
    }
  }
  gst_buffer_unmap(out, &map);
  gst_video_frame_unmap(&src);
  gst_buffer_add_video_meta_full(out, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_I420, GST_VIDEO_INFO_WIDTH(&vinfo),
                                 GST_VIDEO_INFO_HEIGHT(&vinfo), 3, offsets, strides);
  gst_buffer_copy_into(out, in, static_cast<GstBufferCopyFlags>(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS), 0, -1);
  gst_buffer_unref(in);
  GST_PAD_PROBE_INFO_DATA(info) = out;
  return GST_PAD_PROBE_OK;
}

// `colour`: extra caps fields of an I420 frame (colorimetry, chroma-site), or "".
// `outWidth` × `outHeight`: the JPEG's size; a smaller one is scaled down in
// the frame's own format first (videoscale), so the conversions after it see
// only the output's pixels (the context frame of upload.content frame+crops).
std::shared_ptr<Encoder> GetEncoder(int width, int height, int outWidth, int outHeight, const std::string& format,
                                    const std::string& colour, const std::string& element, std::string* error) {
  const bool scaled = outWidth != width || outHeight != height;
  const std::string key = std::to_string(width) + "x" + std::to_string(height) + ">" + std::to_string(outWidth) + "x" +
                          std::to_string(outHeight) + ":" + format + ":" + colour + ":" + element;
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  for (auto it = g_cache.begin(); it != g_cache.end(); ++it) {
    if (it->first == key) {
      g_cache.splice(g_cache.begin(), g_cache, it);  // most recently used first
      return g_cache.front().second;
    }
  }
  const std::string desc = "appsrc name=src format=time caps=video/x-raw,format=" + format +
                           ",width=" + std::to_string(width) + ",height=" + std::to_string(height) +
                           colour +
                           ",framerate=0/1 ! " +
                           (scaled ? "videoscale add-borders=false ! video/x-raw,width=" + std::to_string(outWidth) +
                                         ",height=" + std::to_string(outHeight) + ",pixel-aspect-ratio=1/1 ! "
                                   : std::string()) +
                           "videoconvert ! " + ToEncoderCaps(format, element) + element +
                           " name=enc ! appsink name=sink sync=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
  if (err != nullptr) {
    *error = err->message;
    g_error_free(err);
    if (pipeline) gst_object_unref(pipeline);
    return nullptr;
  }
  auto e = std::make_shared<Encoder>();
  e->pipeline = pipeline;
  e->src = GST_APP_SRC(gst_bin_get_by_name(GST_BIN(pipeline), "src"));
  e->sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(pipeline), "sink"));
  e->enc = gst_bin_get_by_name(GST_BIN(pipeline), "enc");
  if (element == "jpegenc" && outWidth % 16 != 0) {
    GstPad* sink = gst_element_get_static_pad(e->enc, "sink");
    gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, PadRowsToBlocks, nullptr, nullptr);
    gst_object_unref(sink);
  }
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "could not start the JPEG encoder pipeline (" + element + ")";
    return nullptr;
  }
  g_cache.emplace_front(key, e);
  while (g_cache.size() > kMaxEncoders) g_cache.pop_back();
  return e;
}

class JpegWorker : public Napi::AsyncWorker {
 public:
  JpegWorker(Napi::Env env, Napi::Reference<Napi::Value> keep, const uint8_t* data, size_t size, int width, int height,
             int outWidth, int outHeight, std::string format, std::string colour, int quality, std::string element)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        keep_(std::move(keep)),
        data_(data),
        size_(size),
        width_(width),
        height_(height),
        out_width_(outWidth),
        out_height_(outHeight),
        format_(std::move(format)),
        colour_(std::move(colour)),
        quality_(quality),
        element_(std::move(element)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::string error;
    std::shared_ptr<Encoder> enc = GetEncoder(width_, height_, out_width_, out_height_, format_, colour_, element_, &error);
    if (!enc) {
      SetError(error);
      return;
    }
    std::lock_guard<std::mutex> lock(enc->mutex);
    g_object_set(enc->enc, "quality", quality_, nullptr);
    GstBuffer* buf = PackedToGstBuffer(data_, size_, width_, height_, format_);
    if (buf == nullptr) {
      SetError("pixel buffer size does not match " + std::to_string(width_) + "x" + std::to_string(height_) + " " + format_);
      return;
    }
    GST_BUFFER_PTS(buf) = enc->frames * GST_MSECOND;
    enc->frames++;
    if (gst_app_src_push_buffer(enc->src, buf) != GST_FLOW_OK) {
      SetError("JPEG encoder refused the frame");
      return;
    }
    GstSample* sample = gst_app_sink_try_pull_sample(enc->sink, 5 * GST_SECOND);
    if (sample == nullptr) {
      SetError("JPEG encoder produced no output within 5 s");
      return;
    }
    GstBuffer* out = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (out != nullptr && gst_buffer_map(out, &map, GST_MAP_READ)) {
      result_.assign(map.data, map.data + map.size);
      gst_buffer_unmap(out, &map);
    }
    gst_sample_unref(sample);
    if (result_.empty()) SetError("JPEG encoder produced an empty buffer");
  }

  void OnOK() override {
    auto* vec = new std::vector<uint8_t>(std::move(result_));
    deferred_.Resolve(Napi::Buffer<uint8_t>::New(Env(), vec->data(), vec->size(),
                                                 [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, vec));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Value> keep_;  // keeps the pixel memory alive while encoding
  const uint8_t* data_;
  size_t size_;
  int width_, height_;
  int out_width_, out_height_;
  std::string format_;
  std::string colour_;  // caps fields of an I420 frame's colour (ColourCaps)
  int quality_;
  std::string element_;
  std::vector<uint8_t> result_;
};

// Caps fields for an I420 frame's colorimetry and chroma siting as the
// capture reported them ({colorimetry, chromaSite}), each validated by
// GStreamer's own parser (they go into a caps string); "" when absent.
std::string ColourCaps(const Napi::Value& v) {
  if (!v.IsObject()) return "";
  Napi::Object o = v.As<Napi::Object>();
  std::string caps;
  Napi::Value c = o.Get("colorimetry");
  if (c.IsString()) {
    const std::string name = c.As<Napi::String>().Utf8Value();
    GstVideoColorimetry parsed;
    if (gst_video_colorimetry_from_string(&parsed, name.c_str())) caps += ",colorimetry=(string)\"" + name + "\"";
  }
  Napi::Value s = o.Get("chromaSite");
  if (s.IsString()) {
    const std::string name = s.As<Napi::String>().Utf8Value();
#if GST_CHECK_VERSION(1, 20, 0)
    const bool ok = gst_video_chroma_site_from_string(name.c_str()) != GST_VIDEO_CHROMA_SITE_UNKNOWN;
#else
    const bool ok = gst_video_chroma_from_string(name.c_str()) != GST_VIDEO_CHROMA_SITE_UNKNOWN;
#endif
    if (ok) caps += ",chroma-site=(string)\"" + name + "\"";
  }
  return caps;
}

}  // namespace

Napi::Value EncodeJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  const uint8_t* data = TypedArrayBytes(env, info[0], &length);
  const int width = info[1].As<Napi::Number>().Int32Value();
  const int height = info[2].As<Napi::Number>().Int32Value();
  // The output size (TypeScript validated it: at most the frame's); absent = the frame's.
  const int outWidth = info[7].IsNumber() ? info[7].As<Napi::Number>().Int32Value() : width;
  const int outHeight = info[8].IsNumber() ? info[8].As<Napi::Number>().Int32Value() : height;
  auto* worker = new JpegWorker(env, Napi::Persistent(info[0]), data, length, width, height, outWidth, outHeight,
                                info[3].As<Napi::String>().Utf8Value(), ColourCaps(info[6]),
                                info[4].As<Napi::Number>().Int32Value(), info[5].As<Napi::String>().Utf8Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace bestshot
