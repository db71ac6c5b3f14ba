// The floor for bench/load_cycles.mjs: TensorFlow's own memory over repeated loads and unloads of one
// SavedModel from C++, as tfserve's addon does them (TF_LoadSessionFromSavedModel, one TF_SessionRun,
// TF_CloseSession, TF_DeleteSession, TF_DeleteGraph), with the ConfigProto bytes given in hex.
// Usage: load_cycles <export_dir> <input> <output> <cycles> <config_hex> <dims...> (a float32 input of
// that shape, zeros). Prints "<cycle> <rss_kb>"
// after the first cycle and every 20th, with malloc_trim(0) before each reading, as tfserve's idle
// reclaim does.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tensorflow/c/c_api.h"

static long RssKb() {
  FILE* file = std::fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (file != nullptr && std::fgets(line, sizeof line, file) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) kb = std::atol(line + 6);
  }
  if (file != nullptr) std::fclose(file);
  return kb;
}

static TF_Output Resolve(TF_Graph* graph, const std::string& name) {
  size_t colon = name.rfind(':');
  TF_Operation* operation = TF_GraphOperationByName(graph, name.substr(0, colon).c_str());
  if (operation == nullptr) {
    std::fprintf(stderr, "no operation %s\n", name.c_str());
    std::exit(2);
  }
  return TF_Output{operation, std::atoi(name.c_str() + colon + 1)};
}

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: load_cycles <export_dir> <input> <output> <cycles> <config_hex> <dims...>\n");
    return 2;
  }
  std::vector<unsigned char> config;
  for (const char* hex = argv[5]; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
    config.push_back(static_cast<unsigned char>(std::strtol(std::string(hex, 2).c_str(), nullptr, 16)));
  }
  int cycles = std::atoi(argv[4]);
  std::vector<int64_t> dims;
  size_t count = 1;
  for (int i = 6; i < argc; ++i) {
    dims.push_back(std::atoll(argv[i]));
    count *= static_cast<size_t>(dims.back());
  }
  const char* tags[] = {"serve"};
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    TF_Status* status = TF_NewStatus();
    TF_SessionOptions* options = TF_NewSessionOptions();
    if (!config.empty()) TF_SetConfig(options, config.data(), config.size(), status);
    TF_Buffer* meta = TF_NewBuffer();
    TF_Graph* graph = TF_NewGraph();
    TF_Session* session = TF_LoadSessionFromSavedModel(options, nullptr, argv[1], tags, 1, graph, meta, status);
    if (TF_GetCode(status) != TF_OK) {
      std::fprintf(stderr, "load failed: %s\n", TF_Message(status));
      return 1;
    }
    TF_Tensor* input = TF_AllocateTensor(TF_FLOAT, dims.data(), static_cast<int>(dims.size()), count * sizeof(float));
    std::memset(TF_TensorData(input), 0, count * sizeof(float));
    TF_Output in = Resolve(graph, argv[2]);
    TF_Output out = Resolve(graph, argv[3]);
    TF_Tensor* result = nullptr;
    TF_SessionRun(session, nullptr, &in, &input, 1, &out, &result, 1, nullptr, 0, nullptr, status);
    if (TF_GetCode(status) != TF_OK) {
      std::fprintf(stderr, "run failed: %s\n", TF_Message(status));
      return 1;
    }
    TF_DeleteTensor(result);
    TF_DeleteTensor(input);
    TF_CloseSession(session, status);
    TF_DeleteSession(session, status);
    TF_DeleteGraph(graph);
    TF_DeleteBuffer(meta);
    TF_DeleteSessionOptions(options);
    TF_DeleteStatus(status);
    if (cycle == 1 || cycle % 20 == 0) {
      malloc_trim(0);
      std::printf("%d %ld\n", cycle, RssKb());
      std::fflush(stdout);
    }
  }
  return 0;
}
