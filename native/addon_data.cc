#include "addon_data.h"

#include <algorithm>

namespace tfserve {

void AddonData::KeepUntilReleased(std::unique_ptr<JsPins> pins) {
  late_pins_.push_back(std::move(pins));
}

void AddonData::ReleaseSettledPins() {
  late_pins_.erase(std::remove_if(late_pins_.begin(), late_pins_.end(),
                                  [](const std::unique_ptr<JsPins>& pins) { return pins->held_by_tf.load() == 0; }),
                   late_pins_.end());
}

}  // namespace tfserve
