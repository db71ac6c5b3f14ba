#include "run_worker.h"

#include "addon_data.h"
#include "saved_model.h"
#include "tf_ptr.h"

namespace tfserve {

RunWorker::RunWorker(Napi::Env env, Napi::Promise::Deferred deferred, SavedModelWrap* model,
                     Napi::Object model_object, TF_Session* session, std::vector<PreparedInput> inputs,
                     std::vector<TF_Output> fetches, std::vector<bool> copy_fetches,
                     std::unique_ptr<JsPins> pins, std::string run_options)
    : Napi::AsyncWorker(env, "tfserve.run"),
      deferred_(deferred),
      model_(model),
      model_ref_(Napi::Persistent(model_object)),
      session_(session),
      inputs_(std::move(inputs)),
      fetches_(std::move(fetches)),
      copy_fetches_(std::move(copy_fetches)),
      pins_(std::move(pins)),
      run_options_(std::move(run_options)) {}

RunWorker::~RunWorker() {
  for (TF_Tensor* tensor : outputs_) {
    if (tensor != nullptr) TF_DeleteTensor(tensor);
  }
}

void RunWorker::Execute() {
  std::vector<TF_Output> feeds;
  std::vector<TF_Tensor*> feed_tensors;
  feeds.reserve(inputs_.size());
  feed_tensors.reserve(inputs_.size());
  for (PreparedInput& input : inputs_) {
    TF_Tensor* tensor = BuildTensor(&input, pins_.get(), &error_);
    if (tensor == nullptr) break;
    feeds.push_back(input.output);
    feed_tensors.push_back(tensor);
  }
  if (error_.ok()) {
    outputs_.assign(fetches_.size(), nullptr);
    StatusPtr status(TF_NewStatus());
    BufferPtr options(run_options_.empty() ? nullptr
                                           : TF_NewBufferFromString(run_options_.data(), run_options_.size()));
    TF_SessionRun(session_, options.get(), feeds.data(), feed_tensors.data(), static_cast<int>(feeds.size()),
                  fetches_.data(), outputs_.data(), static_cast<int>(fetches_.size()), nullptr, 0, nullptr,
                  status.get());
    error_ = FromStatus(status.get());
  }
  // Deleting the feeds lets TensorFlow release zero-copy inputs, unless an output still aliases one.
  for (TF_Tensor* tensor : feed_tensors) TF_DeleteTensor(tensor);
  if (error_.ok()) {
    for (size_t i = 0; i < outputs_.size(); ++i) {
      TF_Tensor*& tensor = outputs_[i];
      if (tensor == nullptr) {
        error_ = {TF_INTERNAL, "TF_SessionRun returned no tensor for an output"};
        break;
      }
      bool reference = copy_fetches_[i] && TF_TensorType(tensor) != TF_STRING;
      tensor = reference ? CopyTensor(tensor) : DetachFromPins(tensor, *pins_);
    }
  }
  if (!error_.ok()) SetError(error_.message);
}

void RunWorker::OnOK() {
  Napi::Env env = Env();
  Napi::Array results = Napi::Array::New(env, outputs_.size());
  for (size_t i = 0; i < outputs_.size(); ++i) {
    TF_Tensor* tensor = outputs_[i];
    outputs_[i] = nullptr;
    results.Set(static_cast<uint32_t>(i), OutputToJs(env, tensor));
  }
  Settle();
  deferred_.Resolve(results);
}

void RunWorker::OnError(const Napi::Error& error) {
  Napi::Env env = Env();
  // error_ is empty when node-addon-api caught a C++ exception thrown by Execute().
  TfError failure = error_.ok() ? TfError{TF_INTERNAL, error.Message()} : error_;
  Settle();
  deferred_.Reject(MakeError(env, failure).Value());
}

void RunWorker::Settle() {
  AddonData* data = AddonData::From(Env());
  if (pins_->held_by_tf.load() == 0) {
    pins_.reset();
  } else {
    data->KeepUntilReleased(std::move(pins_));
  }
  data->ReleaseSettledPins();
  model_->RunSettled(Env());
}

}  // namespace tfserve
