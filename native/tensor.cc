#include "tensor.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#endif

#include "tensorflow/c/tf_tstring.h"

namespace tfserve {
namespace {

// TensorFlow copies any POD buffer that is not aligned to EIGEN_MAX_ALIGN_BYTES (64 in pip builds).
constexpr uintptr_t kTfAlignment = 64;
constexpr uint32_t kMaxRank = 32;
// Shapes travel as JS numbers; beyond 2^53 they are no longer exact.
constexpr double kMaxDim = 9007199254740991.0;

static_assert(TF_FLOAT == 1 && TF_DOUBLE == 2 && TF_INT32 == 3 && TF_UINT8 == 4 && TF_INT16 == 5 &&
                  TF_INT8 == 6 && TF_STRING == 7 && TF_INT64 == 9 && TF_BOOL == 10 &&
                  TF_BFLOAT16 == 14 && TF_UINT16 == 17 && TF_HALF == 19 && TF_UINT32 == 22 &&
                  TF_UINT64 == 23,
              "TF_DataType values are shared with src/dtypes.ts");
static_assert(sizeof(TF_TString) == 24, "TF_TString layout changed");

std::atomic<uint64_t> g_input_copies{0};

}  // namespace

int64_t ElementSize(TF_DataType dtype) {
  switch (dtype) {
    case TF_FLOAT: return 4;
    case TF_DOUBLE: return 8;
    case TF_HALF: return 2;
    case TF_BFLOAT16: return 2;
    case TF_INT8: return 1;
    case TF_INT16: return 2;
    case TF_INT32: return 4;
    case TF_INT64: return 8;
    case TF_UINT8: return 1;
    case TF_UINT16: return 2;
    case TF_UINT32: return 4;
    case TF_UINT64: return 8;
    case TF_BOOL: return 1;
    case TF_STRING: return 0;
    default: return -1;
  }
}

std::string DtypeName(TF_DataType dtype) {
  switch (dtype) {
    case TF_FLOAT: return "float32";
    case TF_DOUBLE: return "float64";
    case TF_HALF: return "float16";
    case TF_BFLOAT16: return "bfloat16";
    case TF_INT8: return "int8";
    case TF_INT16: return "int16";
    case TF_INT32: return "int32";
    case TF_INT64: return "int64";
    case TF_UINT8: return "uint8";
    case TF_UINT16: return "uint16";
    case TF_UINT32: return "uint32";
    case TF_UINT64: return "uint64";
    case TF_BOOL: return "bool";
    case TF_STRING: return "string";
    default: return "dtype " + std::to_string(static_cast<int>(dtype));
  }
}

// ---- Aligned blocks ------------------------------------------------------------------------------

// Refcounted: one reference for the JS ArrayBuffer, one per TF_Tensor that wraps it. The registry
// lets PrepareInput recognise a typed array over a block, since JS cannot tell us.
// Blocks of kMapBytes and more are mapped pages of their own: the kernel hands them out zeroed
// without touching them (a memset of a fresh 180 MB block cost the event loop ~90 ms in page faults,
// now paid page by page by whoever writes), and they go back to the OS the moment they are freed.
struct AlignedBlock {
  std::atomic<int> refs{1};
  uint8_t* data = nullptr;
  size_t bytes = 0;
  size_t mapped = 0;  // the mapping's length, 0 for a malloc'd block
};

namespace {

std::mutex g_blocks_mutex;
std::map<uintptr_t, AlignedBlock*> g_blocks;  // keyed by data address

AlignedBlock* AcquireBlock(const uint8_t* data, size_t bytes) {
  std::lock_guard<std::mutex> lock(g_blocks_mutex);
  auto it = g_blocks.upper_bound(reinterpret_cast<uintptr_t>(data));
  if (it == g_blocks.begin()) return nullptr;
  AlignedBlock* block = std::prev(it)->second;
  if (data + bytes > block->data + block->bytes) return nullptr;
  // Never revive a block whose last reference is being dropped on another thread.
  int refs = block->refs.load();
  do {
    if (refs <= 0) return nullptr;
  } while (!block->refs.compare_exchange_weak(refs, refs + 1));
  return block;
}

#if defined(MAP_ANONYMOUS)
constexpr size_t kMapBytes = 1 << 20;
#endif

void ReleaseBlock(AlignedBlock* block) {
  if (block->refs.fetch_sub(1) != 1) return;
  {
    std::lock_guard<std::mutex> lock(g_blocks_mutex);
    g_blocks.erase(reinterpret_cast<uintptr_t>(block->data));
  }
#if defined(MAP_ANONYMOUS)
  if (block->mapped > 0) {
    munmap(block->data, block->mapped);
    delete block;
    return;
  }
#endif
  std::free(block->data);
  delete block;
}

void ReleaseBlockDeallocator(void*, size_t, void* arg) {
  ReleaseBlock(static_cast<AlignedBlock*>(arg));
}

bool IsAligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % kTfAlignment == 0;
}

}  // namespace

Napi::Value AllocAligned(Napi::Env env, size_t bytes) {
  if (bytes == 0) return Napi::ArrayBuffer::New(env, 0);
  size_t rounded = (bytes + kTfAlignment - 1) / kTfAlignment * kTfAlignment;
  uint8_t* data = nullptr;
  size_t mapped = 0;
#if defined(MAP_ANONYMOUS)
  if (bytes >= kMapBytes) {
    // Page-aligned (so 64-byte aligned) and zero-filled by the kernel.
    void* pages = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages != MAP_FAILED) {
      data = static_cast<uint8_t*>(pages);
      mapped = rounded;
    }
  }
#endif
  if (data == nullptr) {
    data = static_cast<uint8_t*>(std::aligned_alloc(kTfAlignment, rounded));
    if (data == nullptr) {
      throw MakeError(env, TF_RESOURCE_EXHAUSTED, "could not allocate " + std::to_string(bytes) + " bytes");
    }
    std::memset(data, 0, bytes);
  }
  auto* block = new AlignedBlock();
  block->data = data;
  block->bytes = bytes;
  block->mapped = mapped;
  {
    std::lock_guard<std::mutex> lock(g_blocks_mutex);
    g_blocks[reinterpret_cast<uintptr_t>(data)] = block;
  }
  return Napi::ArrayBuffer::New(
      env, data, bytes, [](Napi::Env, void*, AlignedBlock* b) { ReleaseBlock(b); }, block);
}

size_t LiveAlignedBlocks() {
  std::lock_guard<std::mutex> lock(g_blocks_mutex);
  return g_blocks.size();
}

uint64_t InputCopyCount() { return g_input_copies.load(); }

// ---- Inputs --------------------------------------------------------------------------------------

PreparedInput::PreparedInput(PreparedInput&& other) noexcept
    : output(other.output),
      dtype(other.dtype),
      dims(std::move(other.dims)),
      element_count(other.element_count),
      tensor(other.tensor),
      strings(std::move(other.strings)) {
  other.tensor = nullptr;
}

PreparedInput::~PreparedInput() {
  if (tensor != nullptr) TF_DeleteTensor(tensor);
}

namespace {

TfError InvalidArgument(const std::string& message) { return {TF_INVALID_ARGUMENT, message}; }

TfError ReadShape(Napi::Value shape, const std::string& what, PreparedInput* out) {
  if (!shape.IsArray()) return InvalidArgument(what + ": shape must be an array of integers");
  Napi::Array dims = shape.As<Napi::Array>();
  if (dims.Length() > kMaxRank) {
    return InvalidArgument(what + ": rank " + std::to_string(dims.Length()) + " exceeds " +
                           std::to_string(kMaxRank));
  }
  for (uint32_t i = 0; i < dims.Length(); ++i) {
    Napi::Value dim = dims.Get(i);
    double value = dim.IsNumber() ? dim.As<Napi::Number>().DoubleValue() : -1;
    if (!(value >= 0 && value <= kMaxDim) || value != static_cast<double>(static_cast<int64_t>(value))) {
      return InvalidArgument(what + ": shape[" + std::to_string(i) + "] is invalid: expected an integer in [0, 2^53)");
    }
    out->dims.push_back(static_cast<int64_t>(value));
  }
  int64_t count = 1;
  for (int64_t size : out->dims) {
    if (size == 0) {
      count = 0;
      break;
    }
  }
  for (int64_t size : out->dims) {
    if (count == 0) break;
    if (count > std::numeric_limits<int64_t>::max() / size) {
      return InvalidArgument(what + ": shape has too many elements");
    }
    count *= size;
  }
  out->element_count = count;
  return {};
}

TfError ReadStrings(Napi::Value data, const std::string& what, PreparedInput* out) {
  if (!data.IsArray()) return InvalidArgument(what + ": string data must be an array of strings or Uint8Arrays");
  Napi::Array items = data.As<Napi::Array>();
  if (static_cast<int64_t>(items.Length()) != out->element_count) {
    return InvalidArgument(what + ": shape has " + std::to_string(out->element_count) + " elements but data has " +
                           std::to_string(items.Length()));
  }
  out->strings.reserve(items.Length());
  for (uint32_t i = 0; i < items.Length(); ++i) {
    Napi::Value item = items.Get(i);
    if (item.IsString()) {
      out->strings.push_back(item.As<Napi::String>().Utf8Value());
    } else if (item.IsTypedArray() && item.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
      auto bytes = item.As<Napi::Uint8Array>();
      out->strings.emplace_back(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
    } else {
      return InvalidArgument(what + ": data[" + std::to_string(i) + "] must be a string or Uint8Array");
    }
  }
  return {};
}

}  // namespace

TfError PrepareInput(TF_DataType dtype, Napi::Value shape, Napi::Value data,
                     const std::string& what, PreparedInput* out) {
  int64_t element_size = ElementSize(dtype);
  if (element_size < 0) return {TF_UNIMPLEMENTED, what + ": " + DtypeName(dtype) + " is not supported"};
  out->dtype = dtype;
  TfError error = ReadShape(shape, what, out);
  if (!error.ok()) return error;
  if (dtype == TF_STRING) return ReadStrings(data, what, out);

  if (!data.IsTypedArray()) return InvalidArgument(what + ": data must be a TypedArray");
  if (out->element_count > 0 &&
      static_cast<size_t>(out->element_count) > std::numeric_limits<size_t>::max() / element_size) {
    return InvalidArgument(what + ": shape has too many elements");
  }
  size_t expected = static_cast<size_t>(out->element_count) * static_cast<size_t>(element_size);
  size_t byte_length = data.As<Napi::TypedArray>().ByteLength();  // 0 once detached
  if (byte_length != expected) {
    return InvalidArgument(what + ": shape needs " + std::to_string(expected) + " bytes but data has " +
                           std::to_string(byte_length));
  }
  // The typed array's own data pointer: unlike its ArrayBuffer's, it exists over a SharedArrayBuffer.
  void* bytes = nullptr;
  if (expected > 0 && napi_get_typedarray_info(data.Env(), data, nullptr, nullptr, &bytes, nullptr, nullptr) != napi_ok) {
    return InvalidArgument(what + ": data could not be read");
  }
  const int64_t* dims = out->dims.data();
  int rank = static_cast<int>(out->dims.size());
  const auto* source = static_cast<const uint8_t*>(bytes);
  AlignedBlock* block = expected > 0 && IsAligned(source) ? AcquireBlock(source, expected) : nullptr;
  if (block != nullptr) {
    out->tensor = TF_NewTensor(dtype, dims, rank, const_cast<uint8_t*>(source), expected,
                               ReleaseBlockDeallocator, block);
    if (out->tensor == nullptr) ReleaseBlock(block);
  } else {
    // Any other JS memory is copied now, on the JS thread, because nothing else keeps it valid: a
    // reference keeps the ArrayBuffer object alive but not its memory, which a transfer
    // (structuredClone, postMessage to a worker that then writes or drops it) detaches and a
    // resize() shrinks while the run is queued. Copying here also gives predict() the data as it
    // was when it was called. The work is what it was: TensorFlow copied all but the rare
    // 64-byte-aligned JS buffers anyway, on the run thread. The event loop now spends that memcpy,
    // about 0.22 ms more per 4 MB input; a tiny input costs the same, as no reference is made
    // (bench/tfserve_predict.mjs, TFSERVE_BENCH_INPUT=js). allocTensor() is the zero-copy path.
    out->tensor = TF_AllocateTensor(dtype, dims, rank, expected);
    if (out->tensor != nullptr && expected > 0) {
      std::memcpy(TF_TensorData(out->tensor), source, expected);
      g_input_copies.fetch_add(1);
    }
  }
  if (out->tensor == nullptr) {
    return {TF_RESOURCE_EXHAUSTED, what + ": could not allocate a tensor of " + std::to_string(expected) + " bytes"};
  }
  return {};
}

TF_Tensor* BuildTensor(PreparedInput* input, TfError* error) {
  if (input->dtype != TF_STRING) {
    TF_Tensor* tensor = input->tensor;
    input->tensor = nullptr;
    return tensor;
  }
  size_t count = static_cast<size_t>(input->element_count);
  TF_Tensor* tensor = TF_AllocateTensor(TF_STRING, input->dims.data(), static_cast<int>(input->dims.size()),
                                        count * sizeof(TF_TString));
  if (tensor == nullptr) {
    *error = {TF_RESOURCE_EXHAUSTED, "could not create an input tensor"};
    return nullptr;
  }
  auto* items = static_cast<TF_TString*>(TF_TensorData(tensor));
  for (size_t i = 0; i < count; ++i) {
    TF_StringInit(&items[i]);
    TF_StringCopy(&items[i], input->strings[i].data(), input->strings[i].size());
  }
  return tensor;
}

TF_Tensor* CopyTensor(TF_Tensor* tensor) {
  size_t bytes = TF_TensorByteSize(tensor);
  int rank = TF_NumDims(tensor);
  std::vector<int64_t> dims(rank);
  for (int i = 0; i < rank; ++i) dims[i] = TF_Dim(tensor, i);
  TF_Tensor* copy = TF_AllocateTensor(TF_TensorType(tensor), dims.data(), rank, bytes);
  if (copy == nullptr) return tensor;
  if (bytes > 0) std::memcpy(TF_TensorData(copy), TF_TensorData(tensor), bytes);
  TF_DeleteTensor(tensor);
  return copy;
}

// ---- Outputs -------------------------------------------------------------------------------------

Napi::Value OutputToJs(Napi::Env env, TF_Tensor* tensor) {
  TF_DataType dtype = TF_TensorType(tensor);
  int rank = TF_NumDims(tensor);
  Napi::Array shape = Napi::Array::New(env, rank);
  for (int i = 0; i < rank; ++i) shape.Set(i, Napi::Number::New(env, static_cast<double>(TF_Dim(tensor, i))));

  Napi::Value data;
  if (dtype == TF_STRING) {
    auto count = static_cast<uint32_t>(TF_TensorElementCount(tensor));
    const auto* items = static_cast<const TF_TString*>(TF_TensorData(tensor));
    Napi::Array strings = Napi::Array::New(env, count);
    for (uint32_t i = 0; i < count; ++i) {
      const char* bytes = TF_StringGetDataPointer(&items[i]);
      size_t size = TF_StringGetSize(&items[i]);
      strings.Set(i, Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(bytes), size));
    }
    TF_DeleteTensor(tensor);
    data = strings;
  } else {
    size_t bytes = TF_TensorByteSize(tensor);
    void* memory = TF_TensorData(tensor);
    if (bytes == 0 || memory == nullptr) {
      TF_DeleteTensor(tensor);
      data = Napi::ArrayBuffer::New(env, 0);
    } else {
      try {
        data = Napi::ArrayBuffer::New(
            env, memory, bytes, [](Napi::Env, void*, TF_Tensor* t) { TF_DeleteTensor(t); }, tensor);
      } catch (const Napi::Error&) {
        // Runtimes that refuse external buffers (Electron's sandbox) get one copy instead.
        Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, bytes);
        std::memcpy(copy.Data(), memory, bytes);
        TF_DeleteTensor(tensor);
        data = copy;
      }
    }
  }
  Napi::Array result = Napi::Array::New(env, 3);
  result.Set(0u, Napi::Number::New(env, dtype));
  result.Set(1u, shape);
  result.Set(2u, data);
  return result;
}

}  // namespace tfserve
