// SavedModelWrap: the JS object over one loaded TF_Session and its TF_Graph.
//
// Created only by LoadWorker (the constructor takes a type-tagged External that JS cannot forge).
// run() validates and resolves every feed and fetch on the JS thread, then hands a RunJob to the
// RunPool; any number of runs may be in flight at once (TF sessions allow concurrent Run calls).
// close() stops new runs, waits for the in-flight ones, then deletes the session and graph on a
// worker thread. A model collected without close() frees its session in the destructor; while runs
// are in flight the wrapper holds a strong reference to its JS object, so that never happens while
// TensorFlow uses it (at environment teardown the RunChannel waits for executing runs first).
#pragma once

#include <napi.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "status.h"
#include "tensorflow/c/c_api.h"

namespace tfserve {

struct LoadedSession {
  TF_Session* session = nullptr;
  TF_Graph* graph = nullptr;
};

extern const napi_type_tag kLoadedSessionTag;

class SavedModelWrap : public Napi::ObjectWrap<SavedModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit SavedModelWrap(const Napi::CallbackInfo& info);
  ~SavedModelWrap() override;

  // JS thread, from RunJob: RunSettled when its promise settled (may start a pending close);
  // RunEnded alone when it was abandoned at environment teardown (no JS, no close).
  void RunSettled(Napi::Env env);
  void RunEnded();

 private:
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value ActiveRuns(const Napi::CallbackInfo& info);

  TfError Resolve(const std::string& name, TF_Output* output);
  void RunStarted();
  void StartTeardown(Napi::Env env);
  void TeardownFinished();

  TF_Session* session_ = nullptr;
  TF_Graph* graph_ = nullptr;
  int active_runs_ = 0;
  bool closing_ = false;
  bool closed_ = false;
  std::vector<Napi::Promise::Deferred> close_waiters_;
  std::unordered_map<std::string, TF_Output> resolved_;

  friend class CloseWorker;
};

}  // namespace tfserve
