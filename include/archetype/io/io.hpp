// archetype/io/io.hpp — umbrella header of io/: atomic file writes and network weight files.
#pragma once

#include "archetype/io/atomic_file.hpp"
#include "archetype/io/weights.hpp"
