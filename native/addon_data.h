// Per-environment state (the main thread and every worker_thread have their own), so the addon is
// context-aware: no JS handle is ever stored in a static.
#pragma once

#include <napi.h>

#include <memory>

#include "run_pool.h"

namespace tfserve {

class AddonData {
 public:
  static AddonData* From(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

  Napi::FunctionReference saved_model_constructor;
  // Delivers this environment's finished runs back to its JS thread.
  std::shared_ptr<RunChannel> runs;
};

}  // namespace tfserve
