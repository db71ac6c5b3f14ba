// RunJob: one TF_SessionRun, executed on a RunPool thread (run_pool.h).
//
// Owns the prepared inputs (which hold no JS memory), the resolved outputs and the serialized
// RunOptions. Execute() touches no JS; Finish() settles the promise exactly once and
// tells the model that the run is over; Abandon() (environment teardown) frees the same things
// without calling into JS. The model counts the job in its active runs from submission, which
// keeps the model object alive and its session open until the job is finished or abandoned.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "run_pool.h"
#include "status.h"
#include "tensor.h"

namespace tfserve {

class SavedModelWrap;

class RunJob : public RunTask {
 public:
  RunJob(napi_deferred deferred, SavedModelWrap* model, TF_Session* session,
         std::vector<PreparedInput> inputs, std::vector<TF_Output> fetches,
         std::vector<bool> copy_fetches, std::string run_options, bool collect_metadata);
  ~RunJob() override;

  void Execute() override;
  void Finish(Napi::Env env) override;
  void Abandon(Napi::Env env) override;

 private:
  napi_deferred deferred_;  // settled in Finish(); left unsettled (the env is going) in Abandon()
  SavedModelWrap* model_;
  TF_Session* session_;
  std::vector<PreparedInput> inputs_;
  std::vector<TF_Output> fetches_;
  // Outputs read from TF1 reference variables alias the variable, which later runs mutate in place.
  std::vector<bool> copy_fetches_;
  std::string run_options_;
  // The serialized RunMetadata (step stats: which device ran each node) when the caller asked for it.
  bool collect_metadata_;
  std::string run_metadata_;
  std::vector<TF_Tensor*> outputs_;
  TfError error_;
};

}  // namespace tfserve
