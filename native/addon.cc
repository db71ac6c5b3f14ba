// Module init: per-environment data, the SavedModel class and the free functions.
#include <napi.h>

#include "addon_data.h"
#include "json_numbers.h"
#include "load_worker.h"
#include "memory.h"
#include "platform.h"
#include "saved_model.h"
#include "tensor.h"
#include "tensorflow/c/c_api.h"

namespace tfserve {
namespace {

constexpr double kMaxAllocBytes = 1ULL << 40;

Napi::Value AllocAlignedJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double bytes = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(bytes >= 0 && bytes <= kMaxAllocBytes) || bytes != static_cast<double>(static_cast<uint64_t>(bytes))) {
    throw Napi::RangeError::New(env, "allocAligned(bytes) expects an integer between 0 and 2^40");
  }
  return AllocAligned(env, static_cast<size_t>(bytes));
}

// Test hook: the address a typed array's bytes start at, to prove that no copy was made.
Napi::Value AddressOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "expected a TypedArray");
  auto array = info[0].As<Napi::TypedArray>();
  auto address = reinterpret_cast<uintptr_t>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset());
  return Napi::BigInt::New(env, static_cast<uint64_t>(address));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);
  Napi::Function saved_model = SavedModelWrap::Define(env);
  data->saved_model_constructor = Napi::Persistent(saved_model);
  data->runs = RunChannel::Create(env);

  exports.Set("SavedModel", saved_model);
  exports.Set("loadSavedModel", Napi::Function::New<LoadSavedModel>(env, "loadSavedModel"));
  exports.Set("allocAligned", Napi::Function::New<AllocAlignedJs>(env, "allocAligned"));
  exports.Set("scanDenseNumbers", Napi::Function::New<ScanDenseNumbers>(env, "scanDenseNumbers"));
  exports.Set("trimMemory", Napi::Function::New<TrimMemory>(env, "trimMemory"));
  exports.Set("mallocStats", Napi::Function::New<MallocStats>(env, "mallocStats"));
  exports.Set("registeredKernels", Napi::Function::New<RegisteredKernels>(env, "registeredKernels"));
  exports.Set("preloadLibraries", Napi::Function::New<PreloadLibraries>(env, "preloadLibraries"));
  exports.Set("tensorflowVersion", Napi::String::New(env, TF_Version()));
  exports.Set("_inputCopies", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(InputCopyCount()));
  }));
  exports.Set("_liveAlignedBlocks", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(LiveAlignedBlocks()));
  }));
  exports.Set("_addressOf", Napi::Function::New<AddressOf>(env, "_addressOf"));
  return exports;
}

}  // namespace
}  // namespace tfserve

Napi::Object InitTfserve(Napi::Env env, Napi::Object exports) { return tfserve::Init(env, exports); }

NODE_API_MODULE(tfserve_binding, InitTfserve)
