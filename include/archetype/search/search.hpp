// archetype/search/search.hpp — umbrella header of search/: Pareto tools, the ask/tell strategy protocol
// and checkpoints, random and grid search, regularized evolution, NSGA-II, the search driver, and
// successive halving (multi-fidelity selection among given candidates).
#pragma once

#include "archetype/search/checkpoint.hpp"
#include "archetype/search/checkpoint_text.hpp"
#include "archetype/search/driver.hpp"
#include "archetype/search/grid_search.hpp"
#include "archetype/search/nsga2.hpp"
#include "archetype/search/pareto.hpp"
#include "archetype/search/random_search.hpp"
#include "archetype/search/regularized_evolution.hpp"
#include "archetype/search/report.hpp"
#include "archetype/search/strategy.hpp"
#include "archetype/search/successive_halving.hpp"
