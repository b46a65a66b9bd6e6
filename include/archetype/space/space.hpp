// archetype/space/space.hpp — umbrella header of space/: search-space vocabulary, genotypes, cells, the
// built-in spaces and code generation.
#pragma once

#include "archetype/space/big_count.hpp"
#include "archetype/space/cell.hpp"
#include "archetype/space/choice.hpp"
#include "archetype/space/codegen.hpp"
#include "archetype/space/genotype_text.hpp"
#include "archetype/space/nas_bench_201.hpp"
#include "archetype/space/nas_bench_macro.hpp"
#include "archetype/space/search_space.hpp"
