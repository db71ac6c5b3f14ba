// RunWorker: one TF_SessionRun on a libuv worker thread.
//
// Owns the prepared inputs (and the pins that keep their JS memory alive), the resolved outputs and
// the serialized RunOptions. Execute() touches no JS; OnOK/OnError settle the promise exactly once
// and tell the model that the run is over.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "status.h"
#include "tensor.h"

namespace tfserve {

class SavedModelWrap;

class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, Napi::Promise::Deferred deferred, SavedModelWrap* model, Napi::Object model_object, TF_Session* session,
            std::vector<PreparedInput> inputs, std::vector<TF_Output> fetches, std::vector<bool> copy_fetches,
            std::unique_ptr<JsPins> pins,
            std::string run_options);
  ~RunWorker() override;

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  void Settle();

  Napi::Promise::Deferred deferred_;
  SavedModelWrap* model_;
  Napi::ObjectReference model_ref_;
  TF_Session* session_;
  std::vector<PreparedInput> inputs_;
  std::vector<TF_Output> fetches_;
  // Outputs read from TF1 reference variables alias the variable, which later runs mutate in place.
  std::vector<bool> copy_fetches_;
  std::unique_ptr<JsPins> pins_;
  std::string run_options_;
  std::vector<TF_Tensor*> outputs_;
  TfError error_;
};

}  // namespace tfserve
