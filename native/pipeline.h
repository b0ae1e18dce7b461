// A GStreamer pipeline that hands frames to JavaScript.
//
// TypeScript builds and validates the launch description; this class only
// runs it. One dedicated pull thread per pipeline (not a libuv pool thread:
// waiting pipelines would starve fs calls) pulls samples from the appsink when
// JavaScript has granted credits, copies the pixels once into memory that
// JavaScript then owns, optionally computes the detector tensor, and posts
// frames and bus messages through a thread-safe function.
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <napi.h>

#include "slot_pool.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <vector>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "letterbox.h"

namespace bestshot {

struct PipelineMessage;  // frame or event, posted from the pull thread
struct Teardown;        // the GStreamer objects of a closed pipeline, torn down on a thread of their own

// The detector tensor of an I420 frame: its planes resampled to the
// letterbox's size, then converted to BGR by GStreamer's own converter with
// videoconvert's settings, so the tensor has the colours a BGR capture
// gives (docs/performance.md "I420 frames"). Pull thread only.
struct I420TensorStage {
  GstVideoConverter* converter = nullptr;
  GstVideoInfo in{};
  GstVideoInfo out{};
  std::vector<uint8_t> i420, bgrx;
  std::string key;
  I420Resampler resampler;  // fills `i420` as the frame's rows are copied
  I420TensorStage() = default;
  I420TensorStage(const I420TensorStage&) = delete;
  I420TensorStage& operator=(const I420TensorStage&) = delete;
  ~I420TensorStage() {
    if (converter != nullptr) gst_video_converter_free(converter);
  }
};

class Pipeline : public Napi::ObjectWrap<Pipeline> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  explicit Pipeline(const Napi::CallbackInfo& info);
  ~Pipeline() override;

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Request(const Napi::CallbackInfo& info);
  Napi::Value Push(const Napi::CallbackInfo& info);
  Napi::Value EndOfStream(const Napi::CallbackInfo& info);
  Napi::Value SetProperty(const Napi::CallbackInfo& info);
  Napi::Value GetProperty(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Released(const Napi::CallbackInfo& info);
  Napi::Value ReleaseTensor(const Napi::CallbackInfo& info);
  Napi::Value AddPixelSlots(const Napi::CallbackInfo& info);
  Napi::Value AddTensorSlots(const Napi::CallbackInfo& info);
  void AddTensorSlotViews(Napi::Env env, Napi::Array views);  // caller holds mutex_ or runs before the pull thread
  Napi::Value ReleasePixels(const Napi::CallbackInfo& info);

  void PullLoop();
  bool DrainBus();  // returns false when an error ended the pipeline
  PipelineMessage* MakeFrame(GstSample* sample);
  // The I420 tensor in two steps around the frame's copy: prepare sets m->geometry, the
  // converter and the resampler (false when no converter exists for the caps), the copy
  // resamples the rows as it goes, then the small image is converted into dst.
  bool PrepareI420Tensor(PipelineMessage* m, const GstVideoInfo& vinfo);
  void FinishI420Tensor(const PipelineMessage* m, float* dst, bool pad_ready);
  void Post(PipelineMessage* msg);
  // Stops the pull thread, releases the thread-safe function and the slots, and hands the
  // GStreamer objects to a teardown thread of their own (state NULL, unref): a source stuck in a
  // blocking read (a FIFO whose writer hangs, a hung network mount) blocks that thread, never
  // JavaScript's. Returns the teardown's state (null when already shut down), which released()
  // reads and OnEnvCleanup waits on for a bounded time.
  std::shared_ptr<Teardown> Shutdown();
  // Node's environment teardown: shut the pipeline down while its thread-safe function still exists.
  static void OnEnvCleanup(void* self);

 public:
  // Node's environment teardown, after every pipeline's: wait (bounded) for teardown threads still at work.
  static void WaitForTeardowns(void*);

 private:
  GstElement* FindElement(const std::string& name);

  std::string description_;
  GstElement* pipeline_ = nullptr;
  GstAppSink* sink_ = nullptr;
  GstAppSrc* src_ = nullptr;
  GstBus* bus_ = nullptr;
  bool live_ = false;
  bool has_tensor_ = false;
  TensorSpec tensor_;
  // Tensor slots: Float32Arrays over SharedArrayBuffers owned by JavaScript.
  // The pull thread writes a frame's tensor straight into a free slot, so it
  // crosses to the inference worker with no copy at all. When every slot is
  // in use, a malloc'd tensor is used instead (and counted).
  SlotPool<float> tensor_slots_;
  // Pixel slots: typed arrays over SharedArrayBuffers JavaScript owns, reused
  // frame after frame. A fresh external buffer per frame makes V8 count
  // megabytes of new external memory each frame and collect garbage far more
  // often (12 % of the main thread at 150 frames/s); slots avoid that.
  SlotPool<uint8_t> pixel_slots_;
  I420TensorStage i420_tensor_;

  Napi::ThreadSafeFunction tsfn_;
  napi_env env_ = nullptr;
  bool cleanup_hook_ = false;  // OnEnvCleanup is registered with env_
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int64_t credits_ = 0;
  std::atomic<bool> stop_{false};
  bool started_ = false;
  bool closed_ = false;
  std::shared_ptr<Teardown> teardown_;  // close()'s, for released()
  uint64_t sequence_ = 0;
};

}  // namespace bestshot
