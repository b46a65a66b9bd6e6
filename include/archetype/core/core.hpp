// archetype/core/core.hpp — umbrella header of core/: shapes, buffers, errors, RNG, thread pool.
#pragma once

#include "archetype/core/aligned_buffer.hpp"
#include "archetype/core/atomic_file.hpp"
#include "archetype/core/error.hpp"
#include "archetype/core/fixed_string.hpp"
#include "archetype/core/rng.hpp"
#include "archetype/core/shape.hpp"
#include "archetype/core/thread_pool.hpp"
#include "archetype/core/type_list.hpp"
