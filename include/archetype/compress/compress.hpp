// archetype/compress/compress.hpp — umbrella header of compress/: quantization parameters, rounding,
// observers, quantize/requantize, fake
// quantization, and int8 execution of trained networks (post-training quantization); pruning masks,
// policies and schedules, masked training, and structural pruning into a smaller network type.
#pragma once

#include "archetype/compress/fake_quant.hpp"
#include "archetype/compress/int8_network.hpp"
#include "archetype/compress/int8_stages.hpp"
#include "archetype/compress/masked_training.hpp"
#include "archetype/compress/observers.hpp"
#include "archetype/compress/percentile_observer.hpp"
#include "archetype/compress/pruning_mask.hpp"
#include "archetype/compress/pruning_policies.hpp"
#include "archetype/compress/pruning_schedule.hpp"
#include "archetype/compress/quant_params.hpp"
#include "archetype/compress/quantize.hpp"
#include "archetype/compress/rounding.hpp"
#include "archetype/compress/structural_pruning.hpp"
#include "archetype/compress/structural_pruning_weights.hpp"
