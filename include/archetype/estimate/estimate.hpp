// archetype/estimate/estimate.hpp — umbrella header of estimate/: zero-cost proxies (synflow, snip,
// grad_norm, nwot, jacob_cov) and proxy training (split_training_set, proxy_training).
#pragma once

#include "archetype/estimate/proxy_training.hpp"
#include "archetype/estimate/zero_cost.hpp"
