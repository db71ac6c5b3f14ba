#include "saved_model.h"

#include <unordered_set>

#include "addon_data.h"
#include "run_worker.h"
#include "tensor.h"
#include "tf_ptr.h"

namespace tfserve {

const napi_type_tag kLoadedSessionTag = {0x7466736572766531ULL, 0x4c6f616465645365ULL};

namespace {

void DeleteSessionAndGraph(TF_Session* session, TF_Graph* graph) {
  if (session != nullptr) {
    StatusPtr status(TF_NewStatus());
    TF_CloseSession(session, status.get());
    TF_DeleteSession(session, status.get());
  }
  if (graph != nullptr) TF_DeleteGraph(graph);
}

TfError InvalidArgument(const std::string& message) { return {TF_INVALID_ARGUMENT, message}; }

// TF1 graphs expose variables as reference types (DT_FLOAT_REF = DT_FLOAT + 100); reading or feeding
// one moves plain values of the base type.
constexpr int kRefTypeOffset = 100;
TF_DataType BaseType(TF_DataType dtype) {
  return dtype > kRefTypeOffset ? static_cast<TF_DataType>(dtype - kRefTypeOffset) : dtype;
}

}  // namespace

// Deletes a session off the JS thread: closing a big model can take a while.
class CloseWorker : public Napi::AsyncWorker {
 public:
  CloseWorker(Napi::Env env, SavedModelWrap* model, Napi::Object model_object, TF_Session* session,
              TF_Graph* graph)
      : Napi::AsyncWorker(env, "tfserve.close"),
        model_(model),
        model_ref_(Napi::Persistent(model_object)),
        session_(session),
        graph_(graph) {}

 protected:
  void Execute() override { DeleteSessionAndGraph(session_, graph_); }
  void OnOK() override { model_->TeardownFinished(); }
  void OnError(const Napi::Error&) override { model_->TeardownFinished(); }

 private:
  SavedModelWrap* model_;
  Napi::ObjectReference model_ref_;
  TF_Session* session_;
  TF_Graph* graph_;
};

Napi::Function SavedModelWrap::Define(Napi::Env env) {
  return DefineClass(env, "SavedModel",
                     {
                         InstanceMethod<&SavedModelWrap::Run>("run"),
                         InstanceMethod<&SavedModelWrap::Close>("close"),
                         InstanceAccessor<&SavedModelWrap::ActiveRuns>("activeRuns"),
                     });
}

SavedModelWrap::SavedModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SavedModelWrap>(info) {
  Napi::Env env = info.Env();
  bool tagged = false;
  if (info.Length() == 1 && info[0].IsExternal()) {
    napi_check_object_type_tag(env, info[0], &kLoadedSessionTag, &tagged);
  }
  if (!tagged) {
    throw Napi::TypeError::New(env, "SavedModel cannot be constructed directly; use loadSavedModel()");
  }
  auto* loaded = info[0].As<Napi::External<LoadedSession>>().Data();
  if (loaded->session == nullptr) throw Napi::TypeError::New(env, "this session is already owned by a model");
  session_ = loaded->session;
  graph_ = loaded->graph;
  loaded->session = nullptr;
  loaded->graph = nullptr;
}

SavedModelWrap::~SavedModelWrap() { DeleteSessionAndGraph(session_, graph_); }

TfError SavedModelWrap::Resolve(const std::string& name, TF_Output* output) {
  auto cached = resolved_.find(name);
  if (cached != resolved_.end()) {
    *output = cached->second;
    return {};
  }
  // TF_GraphOperationByName takes a C string, which would end the name at a NUL: "x\0:0" would feed x:0.
  if (name.find('\0') != std::string::npos) {
    return InvalidArgument("tensor name '" + EscapeNul(name) + "' contains a NUL byte");
  }
  // Signature tensor names are "<operation>:<index>"; TF1 exports may omit ":0".
  std::string op_name = name;
  int index = 0;
  size_t colon = name.rfind(':');
  if (colon != std::string::npos) {
    std::string digits = name.substr(colon + 1);
    bool numeric = !digits.empty() && digits.size() <= 6 &&
                   digits.find_first_not_of("0123456789") == std::string::npos;
    if (!numeric) return InvalidArgument("'" + name + "' is not a tensor name of the form operation:index");
    op_name = name.substr(0, colon);
    index = std::stoi(digits);
  }
  TF_Operation* operation = TF_GraphOperationByName(graph_, op_name.c_str());
  if (operation == nullptr) return InvalidArgument("tensor '" + name + "' is not in the graph");
  if (index >= TF_OperationNumOutputs(operation)) {
    return InvalidArgument("operation '" + op_name + "' has " + std::to_string(TF_OperationNumOutputs(operation)) +
                           " outputs; there is no '" + name + "'");
  }
  *output = TF_Output{operation, index};
  resolved_.emplace(name, *output);
  return {};
}

// run(feeds: [name, dtype, shape, data][], fetches: string[], runOptions?: Uint8Array, collectMetadata?: boolean)
//   -> Promise<outputs[]>, the array carrying `runMetadata` (serialized RunMetadata) when asked for.
Napi::Value SavedModelWrap::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_deferred deferred = nullptr;
  napi_value promise = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &deferred, &promise), Napi::Value());
  auto reject = [&](const TfError& error) {
    napi_reject_deferred(env, deferred, MakeError(env, error).Value());
    return Napi::Value(env, promise);
  };
  if (closing_ || session_ == nullptr) return reject({TF_FAILED_PRECONDITION, "the model has been disposed"});
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray()) {
    return reject(InvalidArgument("run(feeds, fetches[, runOptions]) expects two arrays"));
  }
  try {
    std::vector<PreparedInput> inputs;
    std::unordered_set<std::string> fed;
    Napi::Array feeds = info[0].As<Napi::Array>();
    inputs.reserve(feeds.Length());
    for (uint32_t i = 0; i < feeds.Length(); ++i) {
      Napi::Value entry = feeds.Get(i);
      std::string where = "feeds[" + std::to_string(i) + "]";
      if (!entry.IsArray() || entry.As<Napi::Array>().Length() != 4) {
        return reject(InvalidArgument(where + " must be [name, dtype, shape, data]"));
      }
      Napi::Array feed = entry.As<Napi::Array>();
      Napi::Value name_value = feed.Get(0u);
      Napi::Value dtype_value = feed.Get(1u);
      if (!name_value.IsString()) return reject(InvalidArgument(where + "[0] must be a tensor name"));
      if (!dtype_value.IsNumber()) return reject(InvalidArgument(where + "[1] must be a TF_DataType number"));
      std::string name = name_value.As<Napi::String>().Utf8Value();
      auto dtype = static_cast<TF_DataType>(dtype_value.As<Napi::Number>().Int32Value());
      if (!fed.insert(name).second) return reject(InvalidArgument("input '" + name + "' is fed twice"));
      PreparedInput input;
      TfError error = Resolve(name, &input.output);
      if (!error.ok()) return reject(error);
      TF_DataType expected = BaseType(TF_OperationOutputType(input.output));
      if (dtype != expected) {
        return reject(InvalidArgument("input '" + name + "' expects " + DtypeName(expected) + " but got " +
                                      DtypeName(dtype)));
      }
      error = PrepareInput(dtype, feed.Get(2u), feed.Get(3u), "input '" + name + "'", &input);
      if (!error.ok()) return reject(error);
      inputs.push_back(std::move(input));
    }

    Napi::Array fetch_names = info[1].As<Napi::Array>();
    std::vector<TF_Output> fetches;
    std::vector<bool> copy_fetches;
    fetches.reserve(fetch_names.Length());
    for (uint32_t i = 0; i < fetch_names.Length(); ++i) {
      Napi::Value name_value = fetch_names.Get(i);
      if (!name_value.IsString()) {
        return reject(InvalidArgument("fetches[" + std::to_string(i) + "] must be a tensor name"));
      }
      std::string name = name_value.As<Napi::String>().Utf8Value();
      TF_Output output;
      TfError error = Resolve(name, &output);
      if (!error.ok()) return reject(error);
      TF_DataType graph_dtype = TF_OperationOutputType(output);
      TF_DataType dtype = BaseType(graph_dtype);
      if (ElementSize(dtype) < 0) {
        return reject({TF_UNIMPLEMENTED, "output '" + name + "' is " + DtypeName(dtype) + ", which tfserve cannot return"});
      }
      fetches.push_back(output);
      copy_fetches.push_back(graph_dtype != dtype);
    }

    std::string run_options;
    if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) {
      if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        return reject(InvalidArgument("runOptions must be a Uint8Array holding a serialized RunOptions"));
      }
      auto bytes = info[2].As<Napi::Uint8Array>();
      run_options.assign(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
    }

    bool collect_metadata = info.Length() > 3 && info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
    std::unique_ptr<RunTask> job =
        std::make_unique<RunJob>(deferred, this, session_, std::move(inputs), std::move(fetches),
                                 std::move(copy_fetches), std::move(run_options), collect_metadata);
    // Counted before Submit(): the job may finish on a pool thread at once, but it is settled only
    // on this thread, later.
    RunStarted();
    if (!AddonData::From(env)->runs->Submit(job)) {
      job.reset();
      RunEnded();
      return reject({TF_UNAVAILABLE, "no run thread: the environment is shutting down, or none could start"});
    }
    return Napi::Value(env, promise);
  } catch (const Napi::Error& error) {
    napi_reject_deferred(env, deferred, error.Value());
    return Napi::Value(env, promise);
  }
}

void SavedModelWrap::RunStarted() {
  // While runs are in flight the JS object (and so the session) cannot be collected.
  if (active_runs_++ == 0) Ref();
}

void SavedModelWrap::RunSettled(Napi::Env env) {
  RunEnded();
  if (closing_ && active_runs_ == 0 && session_ != nullptr) StartTeardown(env);
}

void SavedModelWrap::RunEnded() {
  if (--active_runs_ == 0) Unref();
}

// close() -> Promise<void>, settled once the session is deleted; later calls share that outcome.
Napi::Value SavedModelWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (closed_) {
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  close_waiters_.push_back(deferred);
  if (!closing_) {
    closing_ = true;
    if (active_runs_ == 0) StartTeardown(env);
  }
  return deferred.Promise();
}

void SavedModelWrap::StartTeardown(Napi::Env env) {
  auto* worker = new CloseWorker(env, this, Value(), session_, graph_);
  session_ = nullptr;
  graph_ = nullptr;
  worker->Queue();
}

void SavedModelWrap::TeardownFinished() {
  closed_ = true;
  std::vector<Napi::Promise::Deferred> waiters;
  waiters.swap(close_waiters_);
  for (auto& waiter : waiters) waiter.Resolve(Env().Undefined());
}

Napi::Value SavedModelWrap::ActiveRuns(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), active_runs_);
}

}  // namespace tfserve
