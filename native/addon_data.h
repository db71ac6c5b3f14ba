// Per-environment state (the main thread and every worker_thread have their own), so the addon is
// context-aware: no JS handle is ever stored in a static.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "run_pool.h"
#include "tensor.h"

namespace tfserve {

class AddonData {
 public:
  static AddonData* From(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

  Napi::FunctionReference saved_model_constructor;
  // Delivers this environment's finished runs back to its JS thread.
  std::shared_ptr<RunChannel> runs;

  // Pins whose memory TensorFlow still held when their run settled; released once it lets go.
  void KeepUntilReleased(std::unique_ptr<JsPins> pins);
  void ReleaseSettledPins();

 private:
  std::vector<std::unique_ptr<JsPins>> late_pins_;
};

}  // namespace tfserve
