#include "platform.h"

#include <dlfcn.h>

#include <string>

#include "status.h"
#include "tf_ptr.h"

namespace tfserve {

Napi::Value RegisteredKernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "registeredKernels(op) expects an op name");
  std::string op = info[0].As<Napi::String>().Utf8Value();
  if (op.empty() || op.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(env, "registeredKernels(op) expects a non-empty op name without NUL bytes");
  }
  StatusPtr status(TF_NewStatus());
  BufferPtr kernels(TF_GetRegisteredKernelsForOp(op.c_str(), status.get()));
  TfError error = FromStatus(status.get());
  if (!error.ok()) throw MakeError(env, error);
  if (kernels == nullptr || kernels->data == nullptr) return Napi::Buffer<char>::New(env, 0);
  return Napi::Buffer<char>::Copy(env, static_cast<const char*>(kernels->data), kernels->length);
}

Napi::Value PreloadLibraries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "preloadLibraries(paths) expects an array of paths");
  Napi::Array paths = info[0].As<Napi::Array>();
  Napi::Array outcomes = Napi::Array::New(env, paths.Length());
  for (uint32_t i = 0; i < paths.Length(); ++i) {
    Napi::Value value = paths.Get(i);
    if (!value.IsString()) throw Napi::TypeError::New(env, "paths[" + std::to_string(i) + "] must be a string");
    std::string path = value.As<Napi::String>().Utf8Value();
    if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos) {
      throw Napi::TypeError::New(env, "paths[" + std::to_string(i) + "] must be an absolute path without NUL bytes");
    }
    // Never closed: TensorFlow keeps using the libraries for the life of the process.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (handle != nullptr) {
      outcomes.Set(i, env.Null());
    } else {
      const char* why = dlerror();
      outcomes.Set(i, Napi::String::New(env, why != nullptr ? why : "dlopen failed"));
    }
  }
  return outcomes;
}

}  // namespace tfserve
