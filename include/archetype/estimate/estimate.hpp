// archetype/estimate/estimate.hpp — umbrella header of estimate/: zero-cost proxies (synflow, snip,
// grad_norm, nwot, jacob_cov), proxy training (split_training_set, proxy_training), tabular replay,
// host latency (lookup table, measurement, predictor features) and the statistics to judge estimates.
#pragma once

#include "archetype/estimate/latency.hpp"
#include "archetype/estimate/latency_predictor.hpp"
#include "archetype/estimate/proxy_training.hpp"
#include "archetype/estimate/statistics.hpp"
#include "archetype/estimate/tabular.hpp"
#include "archetype/estimate/zero_cost.hpp"
