// bestshot native addon: GStreamer pipelines, devices and pixels only.
// Every option is validated in TypeScript (src/capture/) before it crosses.
#include <gst/gst.h>
#include <napi.h>

#include "jpeg.h"
#include "pipeline.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace {

Napi::Value GstVersion(const Napi::CallbackInfo& info) {
  gchar* v = gst_version_string();
  Napi::String s = Napi::String::New(info.Env(), v);
  g_free(v);
  return s;
}

// hasElement(name): whether a GStreamer element factory is installed.
Napi::Value HasElement(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  GstElementFactory* f = gst_element_factory_find(name.c_str());
  if (f) gst_object_unref(f);
  return Napi::Boolean::New(info.Env(), f != nullptr);
}

// limitMallocArenas(n): glibc's M_ARENA_MAX for the arenas not yet created
// (what MALLOC_ARENA_MAX sets at process start). Each thread that allocates
// under contention gets an arena of its own; the runtime has a dozen
// (GStreamer, ONNX Runtime, libuv, workers) and their kept pages are
// 14-22 MiB a camera (docs/performance.md). Returns false where the C
// library is not glibc (nothing to do). n is validated in TypeScript.
Napi::Value LimitMallocArenas(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  const int n = info[0].As<Napi::Number>().Int32Value();
  return Napi::Boolean::New(info.Env(), mallopt(M_ARENA_MAX, n) == 1);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// fixMmapThreshold(bytes): glibc's M_MMAP_THRESHOLD. glibc raises the
// threshold each time a mapped block is freed (up to 32 MiB), so after the
// first few frames, tensors and JPEGs are freed, blocks of 1-3 MiB come
// from the heap and their pages stay in the process; a fixed threshold
// (setting it turns the raising off) maps and unmaps them instead
// (docs/performance.md "The mmap threshold"). Returns false where the C
// library is not glibc. bytes is validated in TypeScript.
Napi::Value FixMmapThreshold(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  const int bytes = info[0].As<Napi::Number>().Int32Value();
  return Napi::Boolean::New(info.Env(), mallopt(M_MMAP_THRESHOLD, bytes) == 1);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  GError* err = nullptr;
  if (!gst_init_check(nullptr, nullptr, &err)) {
    std::string msg = err ? err->message : "unknown error";
    if (err) g_error_free(err);
    throw Napi::Error::New(env, "GStreamer failed to initialise: " + msg);
  }
  exports.Set("gstVersion", Napi::Function::New(env, GstVersion));
  exports.Set("hasElement", Napi::Function::New(env, HasElement));
  exports.Set("limitMallocArenas", Napi::Function::New(env, LimitMallocArenas));
  exports.Set("fixMmapThreshold", Napi::Function::New(env, FixMmapThreshold));
  exports.Set("encodeJpeg", Napi::Function::New(env, bestshot::EncodeJpeg));
  bestshot::Pipeline::Init(env, exports);
  napi_add_env_cleanup_hook(env, &bestshot::Pipeline::WaitForTeardowns, nullptr);
  return exports;
}

}  // namespace

NODE_API_MODULE(bestshot_native, Init)
