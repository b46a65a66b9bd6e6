// archetype/compress/compress.hpp — umbrella header of compress/: quantization parameters, rounding,
// observers, quantize/requantize and fake quantization.
#pragma once

#include "archetype/compress/fake_quant.hpp"
#include "archetype/compress/observers.hpp"
#include "archetype/compress/percentile_observer.hpp"
#include "archetype/compress/quant_params.hpp"
#include "archetype/compress/quantize.hpp"
#include "archetype/compress/rounding.hpp"
