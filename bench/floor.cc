// The floor for bench/run.mjs: TF_SessionRun in a tight loop on one SavedModel, from C++, with the
// input tensor made once. Usage: floor <export_dir> <input_name> <output_name> <iterations> <dims...>
// Prints the median and the mean microseconds per call. Float32 input filled with 0.5. With FLOOR_CALLER_THREAD=1
// each run passes RunOptions.inter_op_thread_pool = -1, as tfserve's default 'caller' execution does.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tensorflow/c/c_api.h"

static TF_Output Resolve(TF_Graph* graph, const std::string& name) {
  size_t colon = name.rfind(':');
  std::string op = colon == std::string::npos ? name : name.substr(0, colon);
  int index = colon == std::string::npos ? 0 : std::atoi(name.c_str() + colon + 1);
  TF_Operation* operation = TF_GraphOperationByName(graph, op.c_str());
  if (operation == nullptr) {
    std::fprintf(stderr, "no operation %s\n", op.c_str());
    std::exit(2);
  }
  return TF_Output{operation, index};
}

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: floor <export_dir> <input> <output> <iterations> <dims...>\n");
    return 2;
  }
  TF_Status* status = TF_NewStatus();
  TF_SessionOptions* options = TF_NewSessionOptions();
  TF_Graph* graph = TF_NewGraph();
  const char* tags[] = {"serve"};
  TF_Session* session = TF_LoadSessionFromSavedModel(options, nullptr, argv[1], tags, 1, graph, nullptr, status);
  if (TF_GetCode(status) != TF_OK) {
    std::fprintf(stderr, "load failed: %s\n", TF_Message(status));
    return 1;
  }
  TF_Output input = Resolve(graph, argv[2]);
  TF_Output output = Resolve(graph, argv[3]);
  int iterations = std::atoi(argv[4]);
  std::vector<int64_t> dims;
  size_t count = 1;
  for (int i = 5; i < argc; ++i) {
    dims.push_back(std::atoll(argv[i]));
    count *= static_cast<size_t>(dims.back());
  }
  TF_Tensor* tensor = TF_AllocateTensor(TF_FLOAT, dims.data(), static_cast<int>(dims.size()), count * sizeof(float));
  auto* data = static_cast<float*>(TF_TensorData(tensor));
  for (size_t i = 0; i < count; ++i) data[i] = 0.5f;

  // RunOptions { inter_op_thread_pool: -1 }: field 3, varint, -1 sign-extended to ten bytes.
  static const unsigned char kCallerThread[] = {0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  const char* caller_env = std::getenv("FLOOR_CALLER_THREAD");
  TF_Buffer* run_options = caller_env != nullptr && std::string(caller_env) == "1"
                               ? TF_NewBufferFromString(kCallerThread, sizeof kCallerThread)
                               : nullptr;
  auto run = [&]() {
    TF_Tensor* result = nullptr;
    TF_SessionRun(session, run_options, &input, &tensor, 1, &output, &result, 1, nullptr, 0, nullptr, status);
    if (TF_GetCode(status) != TF_OK) {
      std::fprintf(stderr, "run failed: %s\n", TF_Message(status));
      std::exit(1);
    }
    TF_DeleteTensor(result);
  };
  for (int i = 0; i < iterations / 10 + 1; ++i) run();
  std::vector<double> calls(static_cast<size_t>(iterations));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    auto before = std::chrono::steady_clock::now();
    run();
    calls[static_cast<size_t>(i)] = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - before).count();
  }
  double micros = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  std::sort(calls.begin(), calls.end());
  std::printf("%.3f %.3f\n", calls[calls.size() / 2], micros / iterations);

  TF_DeleteTensor(tensor);
  if (run_options != nullptr) TF_DeleteBuffer(run_options);
  TF_CloseSession(session, status);
  TF_DeleteSession(session, status);
  TF_DeleteGraph(graph);
  TF_DeleteSessionOptions(options);
  TF_DeleteStatus(status);
  return 0;
}
