// SPDX-License-Identifier: Apache-2.0
#pragma once
// Where recommendations go once the guard allowed them: the control socket (set messages)
// and the decision log. Publish never blocks the loop.
// Thread rule: loop thread only.

#include "core/recommendation.h"

namespace knob {

class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual void Publish(const Recommendation& rec) = 0;
};

}  // namespace knob
