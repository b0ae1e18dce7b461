#pragma once
#include <napi.h>

namespace bestshot {
// encodeJpeg(pixels: Uint8Array, width, height, format, quality, element) => Promise<Buffer>
Napi::Value EncodeJpeg(const Napi::CallbackInfo& info);
}
