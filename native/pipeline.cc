#include "pipeline.h"
#include "video_buffer.h"

#include <gst/video/video.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace bestshot {

namespace {
// Teardown threads still running, for the process's end (WaitForTeardowns).
std::mutex g_teardowns_mutex;
std::condition_variable g_teardowns_cv;
int g_teardowns = 0;
}  // namespace

// The GStreamer half of a pipeline's shutdown, run on a thread of its own.
struct Teardown {
  GstElement* pipeline = nullptr;
  GstAppSink* sink = nullptr;
  GstAppSrc* src = nullptr;
  GstBus* bus = nullptr;
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
};

namespace {

int64_t NowNs(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

void FreeBlock(Napi::Env, void* data) { std::free(data); }

// decodebin creates its decoder while the stream is typefound, so its
// properties cannot be set in the launch description: they are set here, as
// each element is added anywhere in the pipeline. Only libav's software
// decoders (avdec_*) are touched; hardware decoders have no thread pool.
void OnDeepElementAdded(GstBin*, GstBin*, GstElement* element, gpointer threads) {
  GstElementFactory* factory = gst_element_get_factory(element);
  if (factory == nullptr) return;
  const gchar* name = GST_OBJECT_NAME(factory);
  if (name == nullptr || !g_str_has_prefix(name, "avdec_")) return;
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(element), "max-threads") == nullptr) return;
  g_object_set(element, "max-threads", GPOINTER_TO_INT(threads), nullptr);
}

// Calls visit(object) for each item of `it` until it returns false; a resync
// (the bin changed while it was walked) calls restart() and walks it again.
// Frees the iterator.
template <typename Visit, typename Restart>
void ForEachItem(GstIterator* it, Visit visit, Restart restart) {
  GValue item = G_VALUE_INIT;
  for (bool done = false; !done;) {
    switch (gst_iterator_next(it, &item)) {
      case GST_ITERATOR_OK:
        done = !visit(g_value_get_object(&item));
        g_value_reset(&item);
        break;
      case GST_ITERATOR_RESYNC:
        restart();
        gst_iterator_resync(it);
        break;
      default:
        done = true;
        break;
    }
  }
  g_value_unset(&item);
  gst_iterator_free(it);
}

struct VideoStream {
  int width = 0, height = 0;
  bool linked = false;
};

// The video streams every decodebin of the pipeline exposed, in its order
// (decodebin sorts its pads by stream id: the container's track order).
// The launch description links one of them, the first; a recording with
// two video tracks plays the first and drops the other without a word from
// GStreamer, so JavaScript is told which ones there were.
std::vector<VideoStream> DecodedVideoStreams(GstElement* pipeline) {
  std::vector<VideoStream> out;
  if (!GST_IS_BIN(pipeline)) return out;
  const auto restart = [&out] { out.clear(); };
  ForEachItem(
      gst_bin_iterate_recurse(GST_BIN(pipeline)),
      [&](gpointer object) {
        GstElement* el = GST_ELEMENT(object);
        GstElementFactory* factory = gst_element_get_factory(el);
        if (factory == nullptr || g_strcmp0(GST_OBJECT_NAME(factory), "decodebin") != 0) return true;
        ForEachItem(
            gst_element_iterate_src_pads(el),
            [&](gpointer pad_object) {
              GstPad* pad = GST_PAD(pad_object);
              GstCaps* caps = gst_pad_get_current_caps(pad);
              if (caps != nullptr && gst_caps_get_size(caps) > 0) {
                const GstStructure* st = gst_caps_get_structure(caps, 0);
                if (g_str_has_prefix(gst_structure_get_name(st), "video/")) {
                  VideoStream v;
                  gst_structure_get_int(st, "width", &v.width);
                  gst_structure_get_int(st, "height", &v.height);
                  v.linked = gst_pad_is_linked(pad);
                  out.push_back(v);
                }
              }
              if (caps != nullptr) gst_caps_unref(caps);
              return true;
            },
            restart);
        return true;
      },
      restart);
  return out;
}

}  // namespace

// One message from the pull thread to JavaScript.
struct PipelineMessage {
  enum class Kind { kFrame, kEos, kError, kWarning } kind = Kind::kFrame;
  // Events
  std::string text, debug, source;
  // Frames
  uint64_t sequence = 0;
  int64_t pts = -1, duration = -1;
  int64_t capture_realtime = 0, capture_monotonic = 0;
  int width = 0, height = 0, stride = 0;
  std::string format;
  uint8_t* pixels = nullptr;  // malloc'd, or nullptr when written into a pixel slot
  size_t pixel_bytes = 0;
  int pixel_slot = -1;
  uint64_t pixel_slot_misses = 0;
  const uint8_t* pixel_view = nullptr;  // where this frame's pixels are (slot or malloc'd block)
  float* tensor = nullptr;  // malloc'd (no free slot) or nullptr
  size_t tensor_bytes = 0;
  int tensor_slot = -1;      // slot written, or -1
  bool has_tensor = false;
  uint64_t slot_misses = 0;
  LetterboxGeometry geometry;
  bool has_yuv = false;  // I420: its colorimetry, for JavaScript (crop measures, A2 metering)
  struct {
    double kr = 0.299, kb = 0.114;  // the matrix's Kr, Kb (BT.601 unless the caps say otherwise)
    bool full_range = false;
    bool h_cosited = false;  // chroma on even luma columns (MPEG-2, H.264's default)
  } yuv;
  std::vector<VideoStream> video_streams;  // first frame only: what decodebin exposed
  std::string colorimetry;  // GStreamer's names of it and of the chroma siting, for the JPEG encoder's caps
  std::string chroma_site;
  ~PipelineMessage() {
    std::free(pixels);
    std::free(tensor);
  }
};

Napi::Object Pipeline::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "Pipeline",
                                   {InstanceMethod("start", &Pipeline::Start),
                                    InstanceMethod("request", &Pipeline::Request),
                                    InstanceMethod("push", &Pipeline::Push),
                                    InstanceMethod("endOfStream", &Pipeline::EndOfStream),
                                    InstanceMethod("setProperty", &Pipeline::SetProperty),
                                    InstanceMethod("getProperty", &Pipeline::GetProperty),
                                    InstanceMethod("close", &Pipeline::Close),
                                    InstanceMethod("released", &Pipeline::Released),
                                    InstanceMethod("releaseTensor", &Pipeline::ReleaseTensor),
                                    InstanceMethod("addPixelSlots", &Pipeline::AddPixelSlots),
                                    InstanceMethod("addTensorSlots", &Pipeline::AddTensorSlots),
                                    InstanceMethod("releasePixels", &Pipeline::ReleasePixels)});
  exports.Set("Pipeline", cls);
  return exports;
}

// new Pipeline({description, sinkName?, srcName?, live, tensor?}, onMessage)
Pipeline::Pipeline(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Pipeline>(info) {
  Napi::Env env = info.Env();
  Napi::Object opts = info[0].As<Napi::Object>();
  Napi::Function on_message = info[1].As<Napi::Function>();
  description_ = opts.Get("description").As<Napi::String>().Utf8Value();
  live_ = opts.Get("live").ToBoolean().Value();
  if (opts.Has("tensor") && opts.Get("tensor").IsObject()) {
    Napi::Object t = opts.Get("tensor").As<Napi::Object>();
    has_tensor_ = true;
    tensor_.width = t.Get("width").As<Napi::Number>().Int32Value();
    tensor_.height = t.Get("height").As<Napi::Number>().Int32Value();
    tensor_.rgb = t.Get("channelOrder").As<Napi::String>().Utf8Value() == "rgb";
    tensor_.center = t.Get("center").ToBoolean().Value();
    tensor_.pad_value = t.Get("padValue").As<Napi::Number>().FloatValue();
    tensor_.scale = t.Get("scale").As<Napi::Number>().FloatValue();
    if (opts.Has("tensorSlots") && opts.Get("tensorSlots").IsArray()) AddTensorSlotViews(env, opts.Get("tensorSlots").As<Napi::Array>());
  }

  GError* err = nullptr;
  pipeline_ = gst_parse_launch(description_.c_str(), &err);
  if (err != nullptr) {
    std::string message = err->message;
    g_error_free(err);
    if (pipeline_ != nullptr) gst_object_unref(pipeline_);
    pipeline_ = nullptr;
    throw Napi::Error::New(env, message);
  }
  if (opts.Has("sinkName") && opts.Get("sinkName").IsString()) {
    GstElement* sink = FindElement(opts.Get("sinkName").As<Napi::String>().Utf8Value());
    if (sink == nullptr || !GST_IS_APP_SINK(sink)) {
      if (sink) gst_object_unref(sink);
      gst_object_unref(pipeline_);
      pipeline_ = nullptr;
      throw Napi::Error::New(env, "pipeline has no appsink with the requested name");
    }
    sink_ = GST_APP_SINK(sink);
  }
  if (opts.Has("srcName") && opts.Get("srcName").IsString()) {
    GstElement* src = FindElement(opts.Get("srcName").As<Napi::String>().Utf8Value());
    if (src == nullptr || !GST_IS_APP_SRC(src)) {
      if (src) gst_object_unref(src);
      if (sink_) gst_object_unref(sink_);
      gst_object_unref(pipeline_);
      pipeline_ = nullptr;
      sink_ = nullptr;
      throw Napi::Error::New(env, "pipeline has no appsrc with the requested name");
    }
    src_ = GST_APP_SRC(src);
  }
  if (opts.Has("decoderThreads") && opts.Get("decoderThreads").IsNumber() && GST_IS_BIN(pipeline_)) {
    const int threads = opts.Get("decoderThreads").As<Napi::Number>().Int32Value();
    if (threads > 0) g_signal_connect(pipeline_, "deep-element-added", G_CALLBACK(OnDeepElementAdded), GINT_TO_POINTER(threads));
  }
  bus_ = gst_element_get_bus(pipeline_);
  tsfn_ = Napi::ThreadSafeFunction::New(env, on_message, "bestshot.pipeline", 0, 1);
  // A pipeline keeps the process alive only between start() and close(),
  // like a socket; a constructed but unstarted one does not.
  tsfn_.Unref(env);
  // A pipeline the script never closed (left to the garbage collector, or
  // still open when the process ends) must not be shut down by its
  // finalizer during Node's teardown: by then its thread-safe function may
  // be half destroyed, and releasing it aborted the process (SIGABRT in
  // napi_release_threadsafe_function, exit 134, once two such pipelines
  // existed). Cleanup hooks run in the reverse order of registration, so
  // this one, registered after the thread-safe function's own, shuts the
  // pipeline down (pull thread joined, state NULL, function released) while
  // everything is still whole.
  if (napi_add_env_cleanup_hook(env, &Pipeline::OnEnvCleanup, this) == napi_ok) {
    env_ = env;
    cleanup_hook_ = true;
  }
}

Pipeline::~Pipeline() { Shutdown(); }

void Pipeline::OnEnvCleanup(void* self) {
  // The process is ending: give the teardown a moment to finish (normally milliseconds), but never
  // wait on a source stuck in a read for good.
  std::shared_ptr<Teardown> t = static_cast<Pipeline*>(self)->Shutdown();
  if (t == nullptr) return;
  std::unique_lock<std::mutex> lock(t->mutex);
  t->cv.wait_for(lock, std::chrono::seconds(2), [&] { return t->done; });
}

GstElement* Pipeline::FindElement(const std::string& name) {
  if (!GST_IS_BIN(pipeline_)) {
    if (name == GST_OBJECT_NAME(pipeline_)) return GST_ELEMENT(gst_object_ref(pipeline_));
    return nullptr;
  }
  GstElement* found = gst_bin_get_by_name(GST_BIN(pipeline_), name.c_str());
  if (found != nullptr) return found;
  // Elements a bin made itself (decodebin's decoder) have generated names:
  // they are found by their factory's name, the first one in the pipeline.
  ForEachItem(
      gst_bin_iterate_recurse(GST_BIN(pipeline_)),
      [&](gpointer object) {
        GstElement* el = GST_ELEMENT(object);
        GstElementFactory* factory = gst_element_get_factory(el);
        if (factory != nullptr && name == GST_OBJECT_NAME(factory)) found = GST_ELEMENT(gst_object_ref(el));
        return found == nullptr;
      },
      [] {});
  return found;
}

Napi::Value Pipeline::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "pipeline is closed");
  if (started_) return env.Undefined();
  GstStateChangeReturn ret = gst_element_set_state(pipeline_, GST_STATE_PLAYING);
  if (ret == GST_STATE_CHANGE_FAILURE) {
    // The reason is on the bus as an error message.
    std::string reason = "state change to PLAYING failed";
    GstMessage* msg = gst_bus_timed_pop_filtered(bus_, 2 * GST_SECOND, GST_MESSAGE_ERROR);
    if (msg != nullptr) {
      GError* gerr = nullptr;
      gchar* dbg = nullptr;
      gst_message_parse_error(msg, &gerr, &dbg);
      reason = std::string(gerr->message) + " (from " + GST_OBJECT_NAME(msg->src) + ")";
      g_clear_error(&gerr);
      g_free(dbg);
      gst_message_unref(msg);
    }
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    throw Napi::Error::New(env, reason);
  }
  started_ = true;
  tsfn_.Ref(env);
  thread_ = std::thread(&Pipeline::PullLoop, this);
  return env.Undefined();
}

Napi::Value Pipeline::Request(const Napi::CallbackInfo& info) {
  int64_t n = info[0].As<Napi::Number>().Int64Value();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    credits_ += n;
  }
  cv_.notify_one();
  return info.Env().Undefined();
}

Napi::Value Pipeline::Push(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (src_ == nullptr) throw Napi::Error::New(env, "pipeline has no appsrc");
  if (closed_) throw Napi::Error::New(env, "pipeline is closed");
  size_t length = 0;
  const uint8_t* data = TypedArrayBytes(env, info[0], &length);
  // The appsrc caps give the frame size; pad rows to GStreamer's stride.
  GstBuffer* buf = nullptr;
  GstCaps* caps = gst_app_src_get_caps(src_);
  GstVideoInfo vinfo;
  if (caps != nullptr && gst_video_info_from_caps(&vinfo, caps)) {
    buf = PackedToGstBuffer(data, length, GST_VIDEO_INFO_WIDTH(&vinfo), GST_VIDEO_INFO_HEIGHT(&vinfo),
                            gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&vinfo)));
  }
  if (caps != nullptr) gst_caps_unref(caps);
  if (buf == nullptr) throw Napi::RangeError::New(env, "pushed frame size does not match the appsrc caps");
  bool lossless = false;
  GST_BUFFER_PTS(buf) = info[1].As<Napi::BigInt>().Int64Value(&lossless);
  if (info.Length() > 2 && info[2].IsBigInt()) {
    GST_BUFFER_DURATION(buf) = info[2].As<Napi::BigInt>().Int64Value(&lossless);
  }
  GstFlowReturn flow = gst_app_src_push_buffer(src_, buf);  // takes ownership
  return Napi::Boolean::New(env, flow == GST_FLOW_OK);
}

Napi::Value Pipeline::EndOfStream(const Napi::CallbackInfo& info) {
  if (src_ != nullptr && !closed_) gst_app_src_end_of_stream(src_);
  return info.Env().Undefined();
}

Napi::Value Pipeline::SetProperty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "pipeline is closed");
  std::string element = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  std::string value = info[2].ToString().Utf8Value();
  GstElement* el = FindElement(element);
  if (el == nullptr) throw Napi::Error::New(env, "no element named '" + element + "'");
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(el), name.c_str());
  if (spec == nullptr) {
    gst_object_unref(el);
    throw Napi::Error::New(env, "element '" + element + "' has no property '" + name + "'");
  }
  // gst_util_set_object_arg parses the string for the property's own type
  // (numbers, booleans, enums, GstStructure for extra-controls, ...).
  gst_util_set_object_arg(G_OBJECT(el), name.c_str(), value.c_str());
  gst_object_unref(el);
  return env.Undefined();
}

Napi::Value Pipeline::GetProperty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "pipeline is closed");
  std::string element = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  GstElement* el = FindElement(element);
  if (el == nullptr) throw Napi::Error::New(env, "no element named '" + element + "'");
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(el), name.c_str());
  if (spec == nullptr) {
    gst_object_unref(el);
    throw Napi::Error::New(env, "element '" + element + "' has no property '" + name + "'");
  }
  GValue value = G_VALUE_INIT;
  g_value_init(&value, spec->value_type);
  g_object_get_property(G_OBJECT(el), name.c_str(), &value);
  gst_object_unref(el);
  Napi::Value out;
  if (G_VALUE_HOLDS_STRING(&value)) {
    const gchar* s = g_value_get_string(&value);
    out = s ? Napi::String::New(env, s) : env.Null();
  } else {
    gchar* s = gst_value_serialize(&value);
    out = s ? Napi::String::New(env, s) : env.Null();
    g_free(s);
  }
  g_value_unset(&value);
  return out;
}

Napi::Value Pipeline::ReleaseTensor(const Napi::CallbackInfo& info) {
  const int slot = info[0].As<Napi::Number>().Int32Value();
  std::lock_guard<std::mutex> lock(mutex_);
  tensor_slots_.Release(slot);
  return info.Env().Undefined();
}

// addPixelSlots(views: Uint8Array[]): slots the pull thread may write frames into.
void Pipeline::AddTensorSlotViews(Napi::Env env, Napi::Array slots) {
  const size_t need = sizeof(float) * 3 * static_cast<size_t>(tensor_.width) * tensor_.height;
  for (uint32_t i = 0; i < slots.Length(); ++i) {
    Napi::TypedArray ta = slots.Get(i).As<Napi::TypedArray>();
    if (ta.ByteLength() < need) throw Napi::RangeError::New(env, "tensor slot is smaller than the tensor");
    napi_value ab_unused;
    void* data = nullptr;
    size_t len = 0;
    napi_typedarray_type type;
    size_t offset = 0;
    napi_status st = napi_get_typedarray_info(env, ta, &type, &len, &data, &ab_unused, &offset);
    if (st != napi_ok || data == nullptr) throw Napi::TypeError::New(env, "tensor slot has no backing memory");
    tensor_slots_.Add(slots.Get(i), static_cast<float*>(data), ta.ByteLength());
  }
}

// addTensorSlots(views): more tensor slots (the pool grows when frames miss one).
Napi::Value Pipeline::AddTensorSlots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!has_tensor_) throw Napi::Error::New(env, "pipeline makes no tensor");
  std::lock_guard<std::mutex> lock(mutex_);
  AddTensorSlotViews(env, info[0].As<Napi::Array>());
  return Napi::Number::New(env, static_cast<double>(tensor_slots_.size()));
}

Napi::Value Pipeline::AddPixelSlots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array views = info[0].As<Napi::Array>();
  std::lock_guard<std::mutex> lock(mutex_);
  for (uint32_t i = 0; i < views.Length(); ++i) {
    size_t length = 0;
    const uint8_t* data = TypedArrayBytes(env, views.Get(i), &length);
    pixel_slots_.Add(views.Get(i), const_cast<uint8_t*>(data), length);
  }
  return Napi::Number::New(env, static_cast<double>(pixel_slots_.size()));
}

Napi::Value Pipeline::ReleasePixels(const Napi::CallbackInfo& info) {
  const int slot = info[0].As<Napi::Number>().Int32Value();
  std::lock_guard<std::mutex> lock(mutex_);
  pixel_slots_.Release(slot);
  return info.Env().Undefined();
}

Napi::Value Pipeline::Close(const Napi::CallbackInfo& info) {
  std::shared_ptr<Teardown> t = Shutdown();
  if (t != nullptr) teardown_ = t;
  return info.Env().Undefined();
}

Napi::Value Pipeline::Released(const Napi::CallbackInfo& info) {
  // Closed and its teardown thread done (GStreamer let go of the source); never closed: false.
  bool released = closed_;
  if (teardown_ != nullptr) {
    std::lock_guard<std::mutex> lock(teardown_->mutex);
    released = teardown_->done;
  }
  return Napi::Boolean::New(info.Env(), released);
}

std::shared_ptr<Teardown> Pipeline::Shutdown() {
  if (closed_) return nullptr;
  closed_ = true;
  if (cleanup_hook_) {
    // Closed (or finalised) before teardown: the hook must not run on a deleted object.
    cleanup_hook_ = false;
    napi_remove_env_cleanup_hook(env_, &Pipeline::OnEnvCleanup, this);
  }
  // The pull thread waits at most 50 ms in the appsink, so this join is short whatever the source does.
  stop_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  auto t = std::make_shared<Teardown>();
  t->pipeline = pipeline_;
  t->sink = sink_;
  t->src = src_;
  t->bus = bus_;
  sink_ = nullptr;
  src_ = nullptr;
  bus_ = nullptr;
  pipeline_ = nullptr;
  if (tsfn_) tsfn_.Release();
  tensor_slots_.Clear();
  pixel_slots_.Clear();
  // State NULL waits for the streaming threads to stop. A source blocked in read() (a FIFO whose
  // writer hangs, a hung mount) keeps its streaming thread there, and did the same to JavaScript's
  // thread when this ran on it: the whole process stopped answering. The objects are this thread's
  // alone now; nothing of the Pipeline is touched.
  {
    std::lock_guard<std::mutex> lock(g_teardowns_mutex);
    g_teardowns++;
  }
  std::thread([t]() {
    if (t->pipeline != nullptr) gst_element_set_state(t->pipeline, GST_STATE_NULL);
    if (t->sink) gst_object_unref(t->sink);
    if (t->src) gst_object_unref(t->src);
    if (t->bus) gst_object_unref(t->bus);
    if (t->pipeline) gst_object_unref(t->pipeline);
#ifdef __GLIBC__
    // The pipeline's streaming and decoder threads allocated from glibc's
    // per-thread arenas; their buffers are free now but glibc keeps the pages.
    // A source reopened every few seconds (a looping file, a reconnecting
    // camera) starts new threads that land in other arenas, so RSS crept up
    // with every reopening (docs/performance.md, "RSS over a long run").
    // Giving the free pages back once per pipeline is cheap: close() of a
    // 640×360 file source, this included, took 3.5 ms (median) here.
    malloc_trim(0);
#endif
    {
      std::lock_guard<std::mutex> lock(t->mutex);
      t->done = true;
    }
    t->cv.notify_all();
    {
      std::lock_guard<std::mutex> lock(g_teardowns_mutex);
      g_teardowns--;
    }
    g_teardowns_cv.notify_all();
  }).detach();
  return t;
}

void Pipeline::WaitForTeardowns(void*) {
  // Registered when the addon loads, so it runs after every pipeline's own cleanup hook: the
  // process is ending, and a teardown still at work (normally milliseconds) should finish before
  // exit() runs under it; one stuck in a read for good is left behind after 2 s.
  std::unique_lock<std::mutex> lock(g_teardowns_mutex);
  g_teardowns_cv.wait_for(lock, std::chrono::seconds(2), [] { return g_teardowns == 0; });
}

void Pipeline::Post(PipelineMessage* msg) {
  napi_status status = tsfn_.BlockingCall(msg, [](Napi::Env env, Napi::Function fn, PipelineMessage* m) {
    // Every Node-API call below throws Napi::Error once JavaScript cannot run any more (process.exit()
    // while frames are in flight: the call lands during the environment's teardown). An exception
    // leaving this callback is std::terminate: 'terminate called after throwing an instance of
    // Napi::Error', SIGABRT, exit 134 instead of the exit code asked for (onnxruntime-node's
    // failure in a worker's session.run(), src/detect/pool.ts idle(); here the message is dropped).
    Napi::Object o;
    try {
    o = Napi::Object::New(env);
    switch (m->kind) {
      case PipelineMessage::Kind::kEos:
        o.Set("type", "eos");
        break;
      case PipelineMessage::Kind::kError:
      case PipelineMessage::Kind::kWarning:
        o.Set("type", m->kind == PipelineMessage::Kind::kError ? "error" : "warning");
        o.Set("message", m->text);
        o.Set("debug", m->debug);
        o.Set("source", m->source);
        break;
      case PipelineMessage::Kind::kFrame: {
        o.Set("type", "frame");
        o.Set("sequence", Napi::Number::New(env, static_cast<double>(m->sequence)));
        o.Set("width", m->width);
        o.Set("height", m->height);
        o.Set("stride", m->stride);
        o.Set("format", m->format);
        o.Set("ptsNs", Napi::BigInt::New(env, m->pts));
        o.Set("durationNs", Napi::BigInt::New(env, m->duration));
        o.Set("captureRealtimeNs", Napi::BigInt::New(env, m->capture_realtime));
        o.Set("captureMonotonicNs", Napi::BigInt::New(env, m->capture_monotonic));
        o.Set("pixelBytes", Napi::Number::New(env, static_cast<double>(m->pixel_bytes)));
        o.Set("pixelSlot", m->pixel_slot);
        o.Set("pixelSlotMisses", Napi::Number::New(env, static_cast<double>(m->pixel_slot_misses)));
        if (m->has_yuv) {
          Napi::Object y = Napi::Object::New(env);
          y.Set("kr", m->yuv.kr);
          y.Set("kb", m->yuv.kb);
          y.Set("fullRange", m->yuv.full_range);
          y.Set("colorimetry", m->colorimetry);
          y.Set("chromaSite", m->chroma_site);
          o.Set("yuv", y);
        }
        if (!m->video_streams.empty()) {
          Napi::Array streams = Napi::Array::New(env, m->video_streams.size());
          for (size_t i = 0; i < m->video_streams.size(); ++i) {
            Napi::Object v = Napi::Object::New(env);
            v.Set("width", m->video_streams[i].width);
            v.Set("height", m->video_streams[i].height);
            v.Set("linked", m->video_streams[i].linked);
            streams.Set(static_cast<uint32_t>(i), v);
          }
          o.Set("videoStreams", streams);
        }
        if (m->pixels != nullptr) {
          // Ownership of the malloc'd block passes to the ArrayBuffer.
          o.Set("pixels", Napi::ArrayBuffer::New(env, m->pixels, m->pixel_bytes, FreeBlock));
          m->pixels = nullptr;
        }
        if (m->has_tensor) {
          if (m->tensor != nullptr) {
            o.Set("tensor", Napi::ArrayBuffer::New(env, m->tensor, m->tensor_bytes, FreeBlock));
            m->tensor = nullptr;
          }
          o.Set("tensorSlot", m->tensor_slot);
          o.Set("tensorSlotMisses", Napi::Number::New(env, static_cast<double>(m->slot_misses)));
          Napi::Object g = Napi::Object::New(env);
          g.Set("ratio", m->geometry.ratio);
          g.Set("padX", m->geometry.pad_x);
          g.Set("padY", m->geometry.pad_y);
          g.Set("scaledWidth", m->geometry.scaled_w);
          g.Set("scaledHeight", m->geometry.scaled_h);
          o.Set("letterbox", g);
        }
        break;
      }
    }
    } catch (const Napi::Error&) {
      // JavaScript cannot run (the process is exiting): the message goes with it.
      delete m;
      return;
    }
    delete m;
    try {
      fn.Call({o});
    } catch (const Napi::Error& e) {
      // An exception thrown by the JavaScript handler (a bug in it, a RangeError allocating a
      // frame's SharedArrayBuffer) is the process's uncaught exception, as it would be in any
      // event handler. Left to Node-API, it was swallowed with only a DEP0168 deprecation warning
      // per frame: the frame was lost, a pending next() waited for ever, the process ran on.
      // During teardown (the call could not run at all) Node returns from this without calling
      // into JavaScript, and the exit goes on with its own code.
      napi_fatal_exception(env, e.Value());
    }
  });
  if (status != napi_ok) delete msg;
}

bool Pipeline::DrainBus() {
  bool ok = true;
  while (GstMessage* msg = gst_bus_pop_filtered(
             bus_, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_WARNING))) {
    auto* m = new PipelineMessage();
    GError* gerr = nullptr;
    gchar* dbg = nullptr;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error(msg, &gerr, &dbg);
      m->kind = PipelineMessage::Kind::kError;
      ok = false;
    } else {
      gst_message_parse_warning(msg, &gerr, &dbg);
      m->kind = PipelineMessage::Kind::kWarning;
    }
    m->text = gerr ? gerr->message : "";
    m->debug = dbg ? dbg : "";
    m->source = GST_OBJECT_NAME(msg->src);
    g_clear_error(&gerr);
    g_free(dbg);
    gst_message_unref(msg);
    Post(m);
  }
  return ok;
}

PipelineMessage* Pipeline::MakeFrame(GstSample* sample) {
  GstCaps* caps = gst_sample_get_caps(sample);
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstVideoInfo vinfo;
  if (caps == nullptr || buffer == nullptr || !gst_video_info_from_caps(&vinfo, caps)) return nullptr;
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return nullptr;

  auto* m = new PipelineMessage();
  m->sequence = sequence_++;
  m->width = GST_VIDEO_INFO_WIDTH(&vinfo);
  m->height = GST_VIDEO_INFO_HEIGHT(&vinfo);
  m->format = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&vinfo));
  m->pts = GST_BUFFER_PTS_IS_VALID(buffer) ? static_cast<int64_t>(GST_BUFFER_PTS(buffer)) : -1;
  m->duration = GST_BUFFER_DURATION_IS_VALID(buffer) ? static_cast<int64_t>(GST_BUFFER_DURATION(buffer)) : -1;

  // Capture time: for live sources, now minus the buffer's age in running time
  // (the pipeline clock); for replay the frame is "captured" when pulled.
  const int64_t real_now = NowNs(CLOCK_REALTIME);
  const int64_t mono_now = NowNs(CLOCK_MONOTONIC);
  int64_t age = 0;
  if (live_ && m->pts >= 0) {
    GstClock* clock = gst_element_get_clock(pipeline_);
    if (clock != nullptr) {
      GstSegment* seg = gst_sample_get_segment(sample);
      guint64 running = seg ? gst_segment_to_running_time(seg, GST_FORMAT_TIME, m->pts) : m->pts;
      const int64_t now_running =
          static_cast<int64_t>(gst_clock_get_time(clock)) - static_cast<int64_t>(gst_element_get_base_time(pipeline_));
      if (running != GST_CLOCK_TIME_NONE && now_running > static_cast<int64_t>(running)) {
        age = now_running - static_cast<int64_t>(running);
      }
      gst_object_unref(clock);
    }
  }
  m->capture_realtime = real_now - age;
  m->capture_monotonic = mono_now - age;

  // The single copy: tight rows into memory JavaScript will own. Packed
  // formats are one plane; I420 is three (Y, then U and V at half
  // resolution, each with rows of its own width: docs/performance.md
  // "I420 frames").
  const GstVideoFormat fmt = GST_VIDEO_INFO_FORMAT(&vinfo);
  bool i420_tensor_prepared = false;
  const bool packed_single_plane = GST_VIDEO_INFO_N_PLANES(&vinfo) == 1;
  const bool i420 = fmt == GST_VIDEO_FORMAT_I420;
  if (packed_single_plane || i420) {
    struct PlaneCopy {
      const uint8_t* src;
      int src_stride;
      int row;
      int rows;
    };
    PlaneCopy planes[3];
    int n_planes = 1;
    if (i420) {
      const int cw = (m->width + 1) / 2, ch = (m->height + 1) / 2;
      planes[0] = {map.data + GST_VIDEO_INFO_PLANE_OFFSET(&vinfo, 0), GST_VIDEO_INFO_PLANE_STRIDE(&vinfo, 0), m->width, m->height};
      planes[1] = {map.data + GST_VIDEO_INFO_PLANE_OFFSET(&vinfo, 1), GST_VIDEO_INFO_PLANE_STRIDE(&vinfo, 1), cw, ch};
      planes[2] = {map.data + GST_VIDEO_INFO_PLANE_OFFSET(&vinfo, 2), GST_VIDEO_INFO_PLANE_STRIDE(&vinfo, 2), cw, ch};
      n_planes = 3;
      const GstVideoColorimetry& c = GST_VIDEO_INFO_COLORIMETRY(&vinfo);
      gdouble kr = 0.299, kb = 0.114;
      if (!gst_video_color_matrix_get_Kr_Kb(c.matrix, &kr, &kb)) {
        kr = 0.299;  // unknown or RGB matrix: BT.601, GStreamer's own default for SD
        kb = 0.114;
      }
      m->yuv.kr = kr;
      m->yuv.kb = kb;
      m->yuv.full_range = c.range == GST_VIDEO_COLOR_RANGE_0_255;
      gchar* name = gst_video_colorimetry_to_string(&c);
      m->colorimetry = name != nullptr ? name : "";
      g_free(name);
      const GstVideoChromaSite site = GST_VIDEO_INFO_CHROMA_SITE(&vinfo);
      m->yuv.h_cosited = (site & GST_VIDEO_CHROMA_SITE_H_COSITED) != 0;
#if GST_CHECK_VERSION(1, 20, 0)
      gchar* site_name = gst_video_chroma_site_to_string(site);
      m->chroma_site = site_name != nullptr ? site_name : "";
      g_free(site_name);
#else
      const gchar* site_name = gst_video_chroma_to_string(site);
      m->chroma_site = site_name != nullptr ? site_name : "";
#endif
      m->has_yuv = true;
    } else {
      planes[0] = {map.data + GST_VIDEO_INFO_PLANE_OFFSET(&vinfo, 0), GST_VIDEO_INFO_PLANE_STRIDE(&vinfo, 0),
                   GST_VIDEO_INFO_COMP_PSTRIDE(&vinfo, 0) * m->width, m->height};
    }
    m->stride = planes[0].row;
    m->pixel_bytes = 0;
    for (int p = 0; p < n_planes; ++p) m->pixel_bytes += static_cast<size_t>(planes[p].row) * planes[p].rows;
    uint8_t* dst = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const int s = pixel_slots_.Take(m->pixel_bytes);
      if (s >= 0) {
        m->pixel_slot = s;
        dst = pixel_slots_.Data(s);
      }
      m->pixel_slot_misses = pixel_slots_.misses();
    }
    if (dst == nullptr) {
      m->pixels = static_cast<uint8_t*>(std::malloc(m->pixel_bytes));
      dst = m->pixels;
    }
    m->pixel_view = dst;
    // An I420 frame's tensor starts during the copy: every band of rows is
    // resampled right after it is copied, from the pixel slot while those
    // rows are still in this core's cache (docs/performance.md "The I420
    // resample during the copy"); the same bytes as resampling afterwards.
    i420_tensor_prepared = i420 && has_tensor_ && PrepareI420Tensor(m, vinfo);
    I420TensorStage& st = i420_tensor_;
    uint8_t* out = dst;
    for (int p = 0; p < n_planes; ++p) {
      const PlaneCopy& pc = planes[p];
      if (!i420_tensor_prepared) {
        CopyRows(out, pc.row, pc.src, pc.src_stride, pc.row, pc.rows);
      } else {
        uint8_t* small = st.i420.data() + GST_VIDEO_INFO_PLANE_OFFSET(&st.in, p);
        const int small_stride = GST_VIDEO_INFO_PLANE_STRIDE(&st.in, p);
        constexpr int kBand = 16;  // rows: 20 KB of a 1280-wide Y plane, well inside L2
        for (int y = 0; y < pc.rows; y += kBand) {
          const int n = std::min(kBand, pc.rows - y);
          CopyRows(out + static_cast<size_t>(y) * pc.row, pc.row, pc.src + static_cast<size_t>(y) * pc.src_stride,
                   pc.src_stride, pc.row, n);
          st.resampler.Rows(p, out, pc.row, y + n, small, small_stride);
        }
      }
      out += static_cast<size_t>(pc.row) * pc.rows;
    }
  } else {
    // Other planar formats (NV12, …): hand over the buffer as it is.
    m->stride = GST_VIDEO_INFO_PLANE_STRIDE(&vinfo, 0);
    m->pixel_bytes = map.size;
    m->pixels = static_cast<uint8_t*>(std::malloc(m->pixel_bytes));
    std::memcpy(m->pixels, map.data, map.size);
    m->pixel_view = m->pixels;
  }

  if (has_tensor_ && (fmt == GST_VIDEO_FORMAT_BGR || fmt == GST_VIDEO_FORMAT_RGB || i420)) {
    m->has_tensor = true;
    m->tensor_bytes = sizeof(float) * 3 * static_cast<size_t>(tensor_.width) * tensor_.height;
    float* dst = nullptr;
    // Nothing but this thread writes a tensor slot (JavaScript and ONNX
    // Runtime only read it), so a slot last filled from a frame of this size
    // still holds the right pad.
    const uint64_t shape = (static_cast<uint64_t>(m->width) << 32) | static_cast<uint32_t>(m->height);
    bool pad_ready = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const int s = tensor_slots_.Take(m->tensor_bytes);
      if (s >= 0) {
        m->tensor_slot = s;
        dst = tensor_slots_.Data(s);
        pad_ready = tensor_slots_.Tag(s) == shape;
        tensor_slots_.SetTag(s, shape);
      }
      m->slot_misses = tensor_slots_.misses();
    }
    if (dst == nullptr) {
      m->tensor = static_cast<float*>(std::malloc(m->tensor_bytes));
      dst = m->tensor;
    }
    if (i420) {
      if (i420_tensor_prepared) {
        FinishI420Tensor(m, dst, pad_ready);
      } else {
        // Not seen with GStreamer's own formats; the source ends with this error rather than
        // hand frames to the detector without their tensor.
        auto* e = new PipelineMessage();
        e->kind = PipelineMessage::Kind::kError;
        e->text = "GStreamer cannot convert I420 (colorimetry " + m->colorimetry + ") to BGR for the detector tensor";
        e->source = "bestshot";
        Post(e);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          tensor_slots_.Release(m->tensor_slot);
        }
        m->tensor_slot = -1;
        m->has_tensor = false;
      }
    } else {
      m->geometry = LetterboxToPlanarFloat(m->pixel_view, m->width, m->height, m->stride,
                                           fmt == GST_VIDEO_FORMAT_RGB, tensor_, dst, pad_ready);
    }
  }
  gst_buffer_unmap(buffer, &map);
  return m;
}

bool Pipeline::PrepareI420Tensor(PipelineMessage* m, const GstVideoInfo& vinfo) {
  const LetterboxGeometry g = GeometryFor(m->width, m->height, tensor_);
  m->geometry = g;
  I420TensorStage& st = i420_tensor_;
  const std::string key = std::to_string(g.scaled_w) + "x" + std::to_string(g.scaled_h) + ":" + m->colorimetry + ":" +
                          m->chroma_site;
  if (st.key != key) {
    if (st.converter != nullptr) gst_video_converter_free(st.converter);
    gst_video_info_set_format(&st.in, GST_VIDEO_FORMAT_I420, g.scaled_w, g.scaled_h);
    st.in.colorimetry = vinfo.colorimetry;
    st.in.chroma_site = vinfo.chroma_site;
    // BGRx: the same values as BGR (checked byte for byte), in 4-byte pixels the
    // tensor's float conversion vectorises over.
    gst_video_info_set_format(&st.out, GST_VIDEO_FORMAT_BGRx, g.scaled_w, g.scaled_h);
    // videoconvert's defaults (gst-inspect-1.0 videoconvert), one thread: the pull thread's.
    GstStructure* config = gst_structure_new(
        "GstVideoConverter", GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD, GST_VIDEO_DITHER_BAYER,
        GST_VIDEO_CONVERTER_OPT_DITHER_QUANTIZATION, G_TYPE_UINT, 1u, GST_VIDEO_CONVERTER_OPT_CHROMA_RESAMPLER_METHOD,
        GST_TYPE_VIDEO_RESAMPLER_METHOD, GST_VIDEO_RESAMPLER_METHOD_LINEAR, GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT,
        1u, nullptr);
    st.converter = gst_video_converter_new(&st.in, &st.out, config);  // takes the config
    st.i420.assign(GST_VIDEO_INFO_SIZE(&st.in), 0);
    st.bgrx.assign(GST_VIDEO_INFO_SIZE(&st.out), 0);
    st.key = key;
  }
  if (st.converter == nullptr) return false;
  st.resampler.Prepare(m->width, m->height, m->yuv.h_cosited, g.scaled_w, g.scaled_h);
  return true;
}

void Pipeline::FinishI420Tensor(const PipelineMessage* m, float* dst, bool pad_ready) {
  I420TensorStage& st = i420_tensor_;
  const LetterboxGeometry& g = m->geometry;
  GstBuffer* in_buf = gst_buffer_new_wrapped_full(static_cast<GstMemoryFlags>(0), st.i420.data(), st.i420.size(), 0,
                                                  st.i420.size(), nullptr, nullptr);
  GstBuffer* out_buf = gst_buffer_new_wrapped_full(static_cast<GstMemoryFlags>(0), st.bgrx.data(), st.bgrx.size(), 0,
                                                   st.bgrx.size(), nullptr, nullptr);
  GstVideoFrame in_frame, out_frame;
  const bool mapped_in = gst_video_frame_map(&in_frame, &st.in, in_buf, GST_MAP_READ);
  const bool mapped_out = mapped_in && gst_video_frame_map(&out_frame, &st.out, out_buf, GST_MAP_WRITE);
  if (mapped_out) {
    gst_video_converter_frame(st.converter, &in_frame, &out_frame);
    gst_video_frame_unmap(&out_frame);
  }
  if (mapped_in) gst_video_frame_unmap(&in_frame);
  gst_buffer_unref(in_buf);
  gst_buffer_unref(out_buf);
  Packed4ScaledToPlanarFloat(st.bgrx.data() + GST_VIDEO_INFO_PLANE_OFFSET(&st.out, 0), GST_VIDEO_INFO_PLANE_STRIDE(&st.out, 0),
                             false, tensor_, g, dst, pad_ready);
}

void Pipeline::PullLoop() {
  bool eos_sent = false;
  bool failed = false;
  while (!stop_) {
    if (!DrainBus()) failed = true;
    if (sink_ == nullptr || eos_sent || failed) {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stop_.load(); });
      continue;
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stop_.load() || credits_ > 0; })) continue;
      if (stop_) break;
    }
    GstSample* sample = gst_app_sink_try_pull_sample(sink_, 50 * GST_MSECOND);
    if (sample == nullptr) {
      if (gst_app_sink_is_eos(sink_)) {
        DrainBus();
        auto* m = new PipelineMessage();
        m->kind = PipelineMessage::Kind::kEos;
        Post(m);
        eos_sent = true;
      }
      continue;
    }
    PipelineMessage* frame = MakeFrame(sample);
    gst_sample_unref(sample);
    // By the first frame decodebin has exposed every stream of the group.
    if (frame != nullptr && frame->sequence == 0) frame->video_streams = DecodedVideoStreams(pipeline_);
    if (frame != nullptr) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --credits_;
      }
      Post(frame);
    }
  }
}

}  // namespace bestshot
