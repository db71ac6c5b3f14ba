#include "run_worker.h"

#include "saved_model.h"
#include "tf_ptr.h"

namespace tfserve {

RunJob::RunJob(napi_deferred deferred, SavedModelWrap* model, TF_Session* session,
               std::vector<PreparedInput> inputs, std::vector<TF_Output> fetches,
               std::vector<bool> copy_fetches, std::string run_options, bool collect_metadata)
    : deferred_(deferred),
      model_(model),
      session_(session),
      inputs_(std::move(inputs)),
      fetches_(std::move(fetches)),
      copy_fetches_(std::move(copy_fetches)),
      run_options_(std::move(run_options)),
      collect_metadata_(collect_metadata) {}

RunJob::~RunJob() {
  for (TF_Tensor* tensor : outputs_) {
    if (tensor != nullptr) TF_DeleteTensor(tensor);
  }
}

void RunJob::Execute() {
  std::vector<TF_Output> feeds;
  std::vector<TF_Tensor*> feed_tensors;
  feeds.reserve(inputs_.size());
  feed_tensors.reserve(inputs_.size());
  for (PreparedInput& input : inputs_) {
    TF_Tensor* tensor = BuildTensor(&input, &error_);
    if (tensor == nullptr) break;
    feeds.push_back(input.output);
    feed_tensors.push_back(tensor);
  }
  if (error_.ok()) {
    outputs_.assign(fetches_.size(), nullptr);
    StatusPtr status(TF_NewStatus());
    BufferPtr options(run_options_.empty() ? nullptr
                                           : TF_NewBufferFromString(run_options_.data(), run_options_.size()));
    BufferPtr metadata(collect_metadata_ ? TF_NewBuffer() : nullptr);
    TF_SessionRun(session_, options.get(), feeds.data(), feed_tensors.data(), static_cast<int>(feeds.size()),
                  fetches_.data(), outputs_.data(), static_cast<int>(fetches_.size()), nullptr, 0, metadata.get(),
                  status.get());
    error_ = FromStatus(status.get());
    if (error_.ok() && metadata != nullptr && metadata->data != nullptr) {
      run_metadata_.assign(static_cast<const char*>(metadata->data), metadata->length);
    }
  }
  // Deleting the feeds releases allocTensor blocks, unless an output still aliases one.
  for (TF_Tensor* tensor : feed_tensors) TF_DeleteTensor(tensor);
  if (error_.ok()) {
    for (size_t i = 0; i < outputs_.size(); ++i) {
      TF_Tensor*& tensor = outputs_[i];
      if (tensor == nullptr) {
        error_ = {TF_INTERNAL, "TF_SessionRun returned no tensor for an output"};
        break;
      }
      if (copy_fetches_[i] && TF_TensorType(tensor) != TF_STRING) tensor = CopyTensor(tensor);
    }
  }
}

void RunJob::Finish(Napi::Env env) {
  Napi::Value outcome;
  bool ok = error_.ok();
  try {
    if (ok) {
      Napi::Array results = Napi::Array::New(env, outputs_.size());
      for (size_t i = 0; i < outputs_.size(); ++i) {
        TF_Tensor* tensor = outputs_[i];
        outputs_[i] = nullptr;
        results.Set(static_cast<uint32_t>(i), OutputToJs(env, tensor));
      }
      if (collect_metadata_) {
        results.Set("runMetadata", Napi::Buffer<char>::Copy(env, run_metadata_.data(), run_metadata_.size()));
      }
      outcome = results;
    } else {
      outcome = MakeError(env, error_).Value();
    }
  } catch (const Napi::Error& error) {
    ok = false;
    outcome = error.Value();
  }
  model_->RunSettled(env);
  // Settling fails only if the environment is going away, when nothing can observe it.
  if (ok) {
    napi_resolve_deferred(env, deferred_, outcome);
  } else {
    napi_reject_deferred(env, deferred_, outcome);
  }
}

void RunJob::Abandon(Napi::Env) { model_->RunEnded(); }

}  // namespace tfserve
