// archetype/archetype.hpp — the whole library: architectures (architecture.hpp), search spaces, training,
// performance estimation, search and compression. Each folder also has its own umbrella header
// (archetype/<folder>/<folder>.hpp) for translation units that need less.
#pragma once

#include "archetype/architecture.hpp"
#include "archetype/compress/compress.hpp"
#include "archetype/estimate/estimate.hpp"
#include "archetype/io/io.hpp"
#include "archetype/search/search.hpp"
#include "archetype/space/space.hpp"
#include "archetype/train/train.hpp"
