// bestshot native addon: GStreamer pipelines, devices and pixels only.
// Every option is validated in TypeScript (src/capture/) before it crosses.
#include <gst/gst.h>
#include <napi.h>

#include "jpeg.h"
#include "pipeline.h"

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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  GError* err = nullptr;
  if (!gst_init_check(nullptr, nullptr, &err)) {
    std::string msg = err ? err->message : "unknown error";
    if (err) g_error_free(err);
    throw Napi::Error::New(env, "GStreamer failed to initialise: " + msg);
  }
  exports.Set("gstVersion", Napi::Function::New(env, GstVersion));
  exports.Set("hasElement", Napi::Function::New(env, HasElement));
  exports.Set("encodeJpeg", Napi::Function::New(env, bestshot::EncodeJpeg));
  bestshot::Pipeline::Init(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(bestshot_native, Init)
