// Tensor memory between JavaScript and TensorFlow.
//
// Inputs are prepared on the JS thread (every JS read happens there, with full validation) into a
// PreparedInput that holds no JS values, then handed to a worker thread:
//  - memory from AllocAligned (a refcounted 64-byte-aligned block) is wrapped without a copy: each
//    tensor holds a reference to its block, so the memory outlives every JS array over it;
//  - any other numeric JS memory is copied once, on the JS thread, into a TensorFlow allocation;
//  - strings are copied on the JS thread and become a TF_STRING tensor on the worker thread.
// Outputs come back as external ArrayBuffers over TensorFlow's own buffers, freed by the finalizer.
// TensorFlow may run a deallocator on any thread, later than TF_DeleteTensor of the input (an
// Identity output aliases its input), so deallocators touch only atomics and free(), never JS.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"
#include "tensorflow/c/c_api.h"

namespace tfserve {

// Bytes per element, 0 for TF_STRING, -1 for dtypes the binding does not accept.
int64_t ElementSize(TF_DataType dtype);
// The name src/dtypes.ts uses ("float32"), or "dtype <n>" for one the binding does not accept.
std::string DtypeName(TF_DataType dtype);

struct PreparedInput {
  TF_Output output{};
  TF_DataType dtype = TF_FLOAT;
  std::vector<int64_t> dims;
  int64_t element_count = 0;
  TF_Tensor* tensor = nullptr;  // numeric inputs, owned until BuildTensor hands it over
  std::vector<std::string> strings;

  PreparedInput() = default;
  PreparedInput(PreparedInput&& other) noexcept;
  PreparedInput& operator=(PreparedInput&&) = delete;
  PreparedInput(const PreparedInput&) = delete;
  ~PreparedInput();
};

// Validates one feed's dtype, shape and data on the JS thread and, for a numeric feed, makes its
// TF_Tensor. On failure returns a TfError naming `what` (for example "input 'x:0'") and leaves `out`
// partially filled but safe to destroy.
TfError PrepareInput(TF_DataType dtype, Napi::Value shape, Napi::Value data, const std::string& what,
                     PreparedInput* out);

// Worker thread: the TF_Tensor for a prepared input (owned by the caller), or null with `error`.
TF_Tensor* BuildTensor(PreparedInput* input, TfError* error);

// Worker thread: a TF-owned copy of a numeric tensor, deleting the original (kept if allocation fails).
TF_Tensor* CopyTensor(TF_Tensor* tensor);

// JS thread: [dtype, shape, data] for an output; takes ownership of `tensor`.
Napi::Value OutputToJs(Napi::Env env, TF_Tensor* tensor);

// A 64-byte-aligned ArrayBuffer of `bytes` that inputs can reference without a copy.
Napi::Value AllocAligned(Napi::Env env, size_t bytes);

// Test hooks.
uint64_t InputCopyCount();
size_t LiveAlignedBlocks();

}  // namespace tfserve
