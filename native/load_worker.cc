#include "load_worker.h"

#include <string>
#include <vector>

#include "addon_data.h"
#include "saved_model.h"
#include "status.h"
#include "tf_ptr.h"

namespace tfserve {
namespace {

class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, Napi::Promise::Deferred deferred, std::string export_dir, std::vector<std::string> tags,
             std::string config)
      : Napi::AsyncWorker(env, "tfserve.load"),
        deferred_(deferred),
        export_dir_(std::move(export_dir)),
        tags_(std::move(tags)),
        config_(std::move(config)) {}

  ~LoadWorker() override {
    if (session_ != nullptr) {
      StatusPtr status(TF_NewStatus());
      TF_CloseSession(session_, status.get());
      TF_DeleteSession(session_, status.get());
    }
    if (graph_ != nullptr) TF_DeleteGraph(graph_);
  }

 protected:
  void Execute() override {
    SessionOptionsPtr options(TF_NewSessionOptions());
    StatusPtr status(TF_NewStatus());
    if (!config_.empty()) {
      TF_SetConfig(options.get(), config_.data(), config_.size(), status.get());
      if (Failed(status.get())) return;
    }
    GraphPtr graph(TF_NewGraph());
    BufferPtr meta_graph(TF_NewBuffer());
    std::vector<const char*> tags;
    for (const std::string& tag : tags_) tags.push_back(tag.c_str());
    TF_Session* session =
        TF_LoadSessionFromSavedModel(options.get(), nullptr, export_dir_.c_str(), tags.data(),
                                     static_cast<int>(tags.size()), graph.get(), meta_graph.get(), status.get());
    if (Failed(status.get())) return;
    session_ = session;
    graph_ = graph.release();
    meta_graph_.assign(static_cast<const char*>(meta_graph->data), meta_graph->length);
    ListDevices();
  }

  // The devices the session may place ops on (CPU:0, and GPU:n where TensorFlow found GPUs). A
  // failure here costs only the report, not the load.
  void ListDevices() {
    StatusPtr status(TF_NewStatus());
    TF_DeviceList* list = TF_SessionListDevices(session_, status.get());
    if (list == nullptr || TF_GetCode(status.get()) != TF_OK) return;
    int count = TF_DeviceListCount(list);
    for (int i = 0; i < count; ++i) {
      const char* name = TF_DeviceListName(list, i, status.get());
      if (TF_GetCode(status.get()) != TF_OK) break;
      const char* type = TF_DeviceListType(list, i, status.get());
      if (TF_GetCode(status.get()) != TF_OK) break;
      int64_t memory = TF_DeviceListMemoryBytes(list, i, status.get());
      if (TF_GetCode(status.get()) != TF_OK) break;
      devices_.push_back(Device{name, type, memory});
    }
    TF_DeleteDeviceList(list);
  }

  void OnOK() override {
    Napi::Env env = Env();
    auto* loaded = new LoadedSession{session_, graph_};
    session_ = nullptr;
    graph_ = nullptr;
    // If constructing the wrap fails, the External's finalizer still frees the session.
    auto external = Napi::External<LoadedSession>::New(env, loaded, [](Napi::Env, LoadedSession* l) {
      if (l->session != nullptr) {
        StatusPtr status(TF_NewStatus());
        TF_CloseSession(l->session, status.get());
        TF_DeleteSession(l->session, status.get());
      }
      if (l->graph != nullptr) TF_DeleteGraph(l->graph);
      delete l;
    });
    napi_type_tag_object(env, external, &kLoadedSessionTag);
    try {
      Napi::Object model = AddonData::From(env)->saved_model_constructor.New({external});
      Napi::Object result = Napi::Object::New(env);
      result.Set("model", model);
      result.Set("metaGraphDef", Napi::Buffer<char>::Copy(env, meta_graph_.data(), meta_graph_.size()));
      Napi::Array devices = Napi::Array::New(env, devices_.size());
      for (size_t i = 0; i < devices_.size(); ++i) {
        Napi::Array device = Napi::Array::New(env, 3);
        device.Set(0u, devices_[i].name);
        device.Set(1u, devices_[i].type);
        device.Set(2u, static_cast<double>(devices_[i].memory_bytes));
        devices.Set(static_cast<uint32_t>(i), device);
      }
      result.Set("devices", devices);
      deferred_.Resolve(result);
    } catch (const Napi::Error& error) {
      deferred_.Reject(error.Value());
    }
  }

  void OnError(const Napi::Error& error) override {
    TfError failure = error_.ok() ? TfError{TF_INTERNAL, error.Message()} : error_;
    deferred_.Reject(MakeError(Env(), failure).Value());
  }

 private:
  bool Failed(const TF_Status* status) {
    error_ = FromStatus(status);
    if (error_.ok()) return false;
    SetError(error_.message);
    return true;
  }

  Napi::Promise::Deferred deferred_;
  std::string export_dir_;
  std::vector<std::string> tags_;
  std::string config_;
  TF_Session* session_ = nullptr;
  TF_Graph* graph_ = nullptr;
  std::string meta_graph_;
  struct Device {
    std::string name;
    std::string type;
    int64_t memory_bytes;
  };
  std::vector<Device> devices_;
  TfError error_;
};

}  // namespace

Napi::Value LoadSavedModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  auto reject = [&](const std::string& message) {
    deferred.Reject(MakeError(env, TF_INVALID_ARGUMENT, message).Value());
    return deferred.Promise();
  };
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) {
    return reject("loadSavedModel(exportDir, tags[, configProto]) expects a string and an array");
  }
  std::string export_dir = info[0].As<Napi::String>().Utf8Value();
  // Both go to TensorFlow as C strings, which a NUL would cut short ("serve\0x" would load "serve").
  if (export_dir.empty()) return reject("exportDir must be a non-empty path");
  if (export_dir.find('\0') != std::string::npos) return reject("exportDir must not contain a NUL byte");
  std::vector<std::string> tags;
  Napi::Array tag_values = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < tag_values.Length(); ++i) {
    Napi::Value tag = tag_values.Get(i);
    if (!tag.IsString()) return reject("tags[" + std::to_string(i) + "] must be a string");
    tags.push_back(tag.As<Napi::String>().Utf8Value());
    if (tags.back().find('\0') != std::string::npos) {
      return reject("tags[" + std::to_string(i) + "] must not contain a NUL byte");
    }
  }
  std::string config;
  if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) {
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      return reject("configProto must be a Uint8Array holding a serialized ConfigProto");
    }
    auto bytes = info[2].As<Napi::Uint8Array>();
    config.assign(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
  }
  auto* worker = new LoadWorker(env, deferred, std::move(export_dir), std::move(tags), std::move(config));
  worker->Queue();
  return deferred.Promise();
}

}  // namespace tfserve
