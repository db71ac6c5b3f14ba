// What the process's TensorFlow is built with, and the shared libraries it is to use.
//
// registeredKernels(op): the serialized KernelList of an op's registered kernels, which names the
// device types the libtensorflow was compiled for (a CUDA build registers GPU kernels for MatMul).
// preloadLibraries(paths): dlopen()s each path (RTLD_NOW | RTLD_GLOBAL) in order and returns, per
// path, null or dlerror()'s text. TensorFlow dlopen()s CUDA's libraries by soname when it first
// looks for GPUs; one already loaded under that soname is reused, so preloading a CUDA install that
// is not on the loader's path (TFSERVE_CUDA_DIR) makes TensorFlow use it without LD_LIBRARY_PATH.
// Both run on the JS thread: they are called once, at start-up.
#pragma once

#include <napi.h>

namespace tfserve {

Napi::Value RegisteredKernels(const Napi::CallbackInfo& info);
Napi::Value PreloadLibraries(const Napi::CallbackInfo& info);

}  // namespace tfserve
