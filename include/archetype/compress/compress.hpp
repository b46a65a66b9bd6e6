// archetype/compress/compress.hpp — umbrella header of compress/: quantization (parameters, rounding,
// observers, quantize/requantize, fake quantization, quantization-aware training with qat_network, int8
// execution of sequential and residual/branched networks) and pruning (masks, policies, schedules,
// masked training, structural pruning into a smaller network type).
#pragma once

#include "archetype/compress/fake_quant.hpp"
#include "archetype/compress/int8_graph.hpp"
#include "archetype/compress/int8_network.hpp"
#include "archetype/compress/int8_stages.hpp"
#include "archetype/compress/masked_training.hpp"
#include "archetype/compress/observers.hpp"
#include "archetype/compress/percentile_observer.hpp"
#include "archetype/compress/pruning_mask.hpp"
#include "archetype/compress/pruning_policies.hpp"
#include "archetype/compress/pruning_schedule.hpp"
#include "archetype/compress/qat.hpp"
#include "archetype/compress/quant_params.hpp"
#include "archetype/compress/quantize.hpp"
#include "archetype/compress/rounding.hpp"
#include "archetype/compress/structural_pruning.hpp"
#include "archetype/compress/structural_pruning_weights.hpp"
