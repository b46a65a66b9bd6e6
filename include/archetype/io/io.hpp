// archetype/io/io.hpp — umbrella header of io/: weight files, JSON, genotypes as JSON.
#pragma once

#include "archetype/io/genotype_json.hpp"
#include "archetype/io/json.hpp"
#include "archetype/io/weights.hpp"
