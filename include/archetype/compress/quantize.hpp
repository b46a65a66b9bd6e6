// archetype/compress/quantize.hpp — quantize, dequantize and requantize with policy types.
//
// Contract: `quantizer<Rounding, Range, Granularity>` (e.g. quantizer<round_half_even_mul_inverse,
// int8_full_range, per_channel>) is a stateless policy bundle:
//   quantize_value(x, p)   = clamp(Rounding::round_scaled(x, factor(p.scale)) + p.zero_point, qmin, qmax)
//                            (zero point added after rounding, as both PyTorch and TFLite do). Beyond
//                            |x / scale| >= 2^63, ±inf and NaN PyTorch 1.13 casts out of int64 range
//                            (undefined; on x86 every such value, +inf included, becomes qmin); here
//                            ±huge and ±inf go to the bound of their sign and NaN to qmin.
//   dequantize_value(q, p) = float(q − zero_point) · scale   (one rounding of the exact product: the same
//                            float as PyTorch's and TFLite's dequantize)
//   quantize(x, q, layout, params) / dequantize(q, y, layout, params) on raw arrays; per_tensor takes a
//   qparams and any layout (only its size counts), per_channel takes a channel_qparams with one entry per
//   channel of `layout` ([outer][channels][inner], see quant_params.hpp).
// requantize<Requantization, Range>(acc, m, zero_point) = clamp(Requantization::apply(acc, m) + zero_point).
// Parameters are checked once per call (scale finite and > 0, zero point inside the range, one pair per
// channel): a bad one throws archetype::error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "archetype/compress/quant_params.hpp"
#include "archetype/compress/rounding.hpp"

namespace archetype::quant {

// ---------------------------------------------------------------------------------------------- granularity
struct per_tensor {
    using params = qparams;
    static void check(const params&, channel_layout) {}
    static qparams at(const params& p, std::size_t) { return p; }
    template <class Range>
    static void check_values(const params& p, const char* who) {
        check_qparams<Range>(p, who);
    }
};

struct per_channel {
    using params = channel_qparams;
    static void check(const params& p, channel_layout layout) {
        if (p.scale.size() != layout.channels || p.zero_point.size() != layout.channels)
            throw error("per_channel quantization: " + std::to_string(p.scale.size()) + " scales and " +
                        std::to_string(p.zero_point.size()) + " zero points for " + std::to_string(layout.channels) +
                        " channels; choose qparams for this tensor's channels");
    }
    static qparams at(const params& p, std::size_t c) { return p[c]; }
    template <class Range>
    static void check_values(const params& p, const char* who) {
        for (std::size_t c = 0; c < p.channels(); ++c) check_qparams<Range>(p[c], who);
    }
};

// Clamps a float holding an integer (or ±inf, NaN) to [qmin, qmax]; NaN goes to qmin.
template <range_policy Range>
constexpr std::int32_t clamp_to_range(float v) {
    if (!(v >= static_cast<float>(Range::qmin))) return Range::qmin;
    if (v > static_cast<float>(Range::qmax)) return Range::qmax;
    return static_cast<std::int32_t>(v);
}

template <rounding_policy Rounding, range_policy Range, class Granularity = per_tensor>
struct quantizer {
    using rounding = Rounding;
    using range = Range;
    using granularity = Granularity;
    using storage = typename Range::storage;
    using params = typename Granularity::params;

    // The integer of x, before narrowing to storage.
    static std::int32_t quantize_int(float x, float factor, std::int32_t zero_point) {
        return clamp_to_range<Range>(Rounding::round_scaled(x, factor) + static_cast<float>(zero_point));
    }
    static storage quantize_value(float x, qparams p) {
        return static_cast<storage>(quantize_int(x, Rounding::factor(p.scale), p.zero_point));
    }
    static float dequantize_value(std::int32_t q, qparams p) {
        return static_cast<float>(q - p.zero_point) * p.scale;
    }

    static void quantize(const float* x, storage* q, channel_layout layout, const params& p) {
        check(layout, p, "quantize");
        for (std::size_t o = 0, i = 0; o < layout.outer; ++o)
            for (std::size_t c = 0; c < layout.channels; ++c) {
                const qparams pc = Granularity::at(p, c);
                const float factor = Rounding::factor(pc.scale);
                for (std::size_t k = 0; k < layout.inner; ++k, ++i)
                    q[i] = static_cast<storage>(quantize_int(x[i], factor, pc.zero_point));
            }
    }
    static void dequantize(const storage* q, float* y, channel_layout layout, const params& p) {
        check(layout, p, "dequantize");
        for (std::size_t o = 0, i = 0; o < layout.outer; ++o)
            for (std::size_t c = 0; c < layout.channels; ++c) {
                const qparams pc = Granularity::at(p, c);
                for (std::size_t k = 0; k < layout.inner; ++k, ++i) y[i] = dequantize_value(q[i], pc);
            }
    }
    // Per tensor, the layout is just a count.
    static void quantize(const float* x, storage* q, std::size_t n, const params& p) {
        quantize(x, q, channel_layout{1, 1, n}, p);
    }
    static void dequantize(const storage* q, float* y, std::size_t n, const params& p) {
        dequantize(q, y, channel_layout{1, 1, n}, p);
    }

    static void check(channel_layout layout, const params& p, const char* who) {
        Granularity::check(p, layout);
        Granularity::template check_values<Range>(p, who);
    }
};

// Requantizes an int32 accumulator to Range with the zero point of the output.
template <class Requantization, range_policy Range>
typename Range::storage requantize(std::int32_t acc, typename Requantization::multiplier m,
                                   std::int32_t zero_point) {
    std::int64_t v = Requantization::apply(acc, m) + zero_point;
    if (v < Range::qmin) v = Range::qmin;
    if (v > Range::qmax) v = Range::qmax;
    return static_cast<typename Range::storage>(v);
}

}  // namespace archetype::quant
