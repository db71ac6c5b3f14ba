// Owning smart pointers for libtensorflow C handles, so every early return frees what it made.
#pragma once

#include <memory>

#include "tensorflow/c/c_api.h"

namespace tfserve {

struct TfDeleter {
  void operator()(TF_Status* p) const { TF_DeleteStatus(p); }
  void operator()(TF_Tensor* p) const { TF_DeleteTensor(p); }
  void operator()(TF_Buffer* p) const { TF_DeleteBuffer(p); }
  void operator()(TF_Graph* p) const { TF_DeleteGraph(p); }
  void operator()(TF_SessionOptions* p) const { TF_DeleteSessionOptions(p); }
};

using StatusPtr = std::unique_ptr<TF_Status, TfDeleter>;
using TensorPtr = std::unique_ptr<TF_Tensor, TfDeleter>;
using BufferPtr = std::unique_ptr<TF_Buffer, TfDeleter>;
using GraphPtr = std::unique_ptr<TF_Graph, TfDeleter>;
using SessionOptionsPtr = std::unique_ptr<TF_SessionOptions, TfDeleter>;

}  // namespace tfserve
