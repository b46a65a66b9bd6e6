// archetype/graph/graph.hpp — umbrella header of graph/: composition (sequential, repeat, residual, sum,
// concat) and network.
#pragma once

#include "archetype/graph/branches.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/graph/sequential.hpp"
