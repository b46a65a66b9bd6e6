// archetype/space/space.hpp — umbrella header of space/: search-space vocabulary, genotypes, cells, the
// built-in spaces (NAS-Bench-201, NAS-Bench-Macro, Once-for-All, Fashion-MNIST) and code generation.
#pragma once

#include "archetype/space/big_count.hpp"
#include "archetype/space/canonical.hpp"
#include "archetype/space/cell.hpp"
#include "archetype/space/choice.hpp"
#include "archetype/space/codegen.hpp"
#include "archetype/space/constraint.hpp"
#include "archetype/space/elastic_depth.hpp"
#include "archetype/space/elastic_mbconv.hpp"
#include "archetype/space/fashion_mnist.hpp"
#include "archetype/space/genotype_text.hpp"
#include "archetype/space/nas_bench_201.hpp"
#include "archetype/space/nas_bench_macro.hpp"
#include "archetype/space/once_for_all.hpp"
#include "archetype/space/search_space.hpp"
#include "archetype/space/supernet.hpp"
#include "archetype/space/value_choice.hpp"
