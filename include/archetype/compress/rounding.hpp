// archetype/compress/rounding.hpp — rounding policies (float → integer) and requantization policies
// (int32 accumulator → output integer), each bit-exact to the system it names.
//
// Contract, rounding policies (used by quantizer, fake_quantizer and the int8 kernels):
//   factor(scale) is computed once per scale; round_scaled(x, factor) returns the rounded real value
//   x / scale as a float holding an integer; the zero point is added *after* rounding by the caller.
//   round_half_even_mul_inverse — PyTorch (ATen quantize_val, fbgemm::Quantize, fake_quantize_*):
//       round_half_even(x · float(1 / scale)); the product is rounded to float before the rounding to an
//       integer, so x · (1/s) and x / s can differ in a tie, and PyTorch's answer is the product's.
//   round_half_away_div — TFLite reference kernels (AffineQuantize): std::round(x / scale).
// Contract, requantization policies: make(s_in, s_w, s_out) prepares the real multiplier
// s_in · s_w / s_out; apply(acc, m) returns round(acc · m) as an int64 (before the zero point is added and
// the result clamped, see requantize() in quantize.hpp).
//   float_requantization — PyTorch/fbgemm: m = float(float(s_in · s_w) / s_out) (float arithmetic, as
//       fbgemm's real_multiplier), apply = round_half_even(float(acc) · m) (std::lrintf in
//       requantize_from_int and fbgemm::Requantize).
//   fixed_point_requantization — gemmlowp/TFLite: m = quantize_multiplier(double(s_in)·double(s_w)/
//       double(s_out)) as an int32 mantissa in Q0.31 and a power-of-two exponent; apply =
//       multiply_by_quantized_multiplier (TFLite's reference MultiplyByQuantizedMultiplier, "double
//       rounding": a rounding doubling high multiply (ties toward +inf), then a rounding right shift (ties
//       away from zero); so 5 · 0.25 gives 2, not 1).
//   The helpers saturating_rounding_doubling_high_mul and rounding_divide_by_pot are gemmlowp's, on
//   scalars. One deliberate difference: for a positive exponent TFLite multiplies acc by 2^shift in int32,
//   which is undefined on overflow; here that product saturates to the int32 range.
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string>

#include "archetype/core/error.hpp"

namespace archetype::quant {

// -------------------------------------------------------------------------------------- rounding policies
struct round_half_even_mul_inverse {
    static constexpr const char* name = "round_half_even_mul_inverse";
    static float factor(float scale) { return 1.0f / scale; }
    // std::nearbyint rounds half to even in the default floating-point environment, as PyTorch relies on.
    static float round_scaled(float x, float inverse_scale) { return std::nearbyint(x * inverse_scale); }
};

struct round_half_away_div {
    static constexpr const char* name = "round_half_away_div";
    static float factor(float scale) { return scale; }
    static float round_scaled(float x, float scale) { return std::round(x / scale); }
};

using pytorch_rounding = round_half_even_mul_inverse;
using tflite_rounding = round_half_away_div;

template <class R>
concept rounding_policy = requires(float v) {
    { R::factor(v) } -> std::same_as<float>;
    { R::round_scaled(v, v) } -> std::same_as<float>;
};

// ------------------------------------------------------------------------------------ fixed-point helpers
// gemmlowp SaturatingRoundingDoublingHighMul: 2·a·b / 2^32 = a·b / 2^31 rounded to nearest; the nudge
// (2^30 for a positive product, 1 − 2^30 for a negative one) and the truncating division send ties toward
// +inf (0.5 → 1, −0.5 → 0, −1.5 → −1). The one overflowing case, a = b = INT32_MIN, gives INT32_MAX.
constexpr std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) {
    constexpr std::int32_t lowest = std::numeric_limits<std::int32_t>::min();
    if (a == lowest && b == lowest) return std::numeric_limits<std::int32_t>::max();
    const std::int64_t product = std::int64_t{a} * std::int64_t{b};
    const std::int64_t nudge = product >= 0 ? (std::int64_t{1} << 30) : 1 - (std::int64_t{1} << 30);
    return static_cast<std::int32_t>((product + nudge) / (std::int64_t{1} << 31));  // truncates toward 0
}

// gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero; 0 <= exponent <= 31.
constexpr std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) {
    const std::int32_t mask = static_cast<std::int32_t>((std::int64_t{1} << exponent) - 1);
    const std::int32_t remainder = x & mask;
    const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);  // >> of a negative: arithmetic (C++20)
}

struct quantized_multiplier {
    std::int32_t mantissa = 0;  // Q0.31 in [2^30, 2^31), or 0 for a zero multiplier
    int shift = 0;              // real = mantissa · 2^(shift − 31); shift > 0 shifts left
    constexpr bool operator==(const quantized_multiplier&) const = default;
};

// TFLite QuantizeMultiplier: frexp, then round(q · 2^31) half away from zero; q = 1 after rounding becomes
// 2^30 with shift + 1; a shift below −31 flushes the multiplier to zero. Throws unless 0 <= real < 2^31.
inline quantized_multiplier quantize_multiplier(double real) {
    if (!(real >= 0.0) || !(real < 0x1p31))
        throw error("quantize_multiplier: real multiplier " + std::to_string(real) +
                    " must be finite, >= 0 and < 2^31; check the input, weight and output scales");
    if (real == 0.0) return {};
    int shift = 0;
    const double q = std::frexp(real, &shift);  // real = q · 2^shift, q in [0.5, 1)
    std::int64_t fixed = static_cast<std::int64_t>(std::round(q * 0x1p31));
    if (fixed == (std::int64_t{1} << 31)) {
        fixed /= 2;
        ++shift;
    }
    if (shift < -31) return {};
    return {static_cast<std::int32_t>(fixed), shift};
}

// TFLite MultiplyByQuantizedMultiplier (reference, double rounding); see the note on overflow above.
constexpr std::int32_t multiply_by_quantized_multiplier(std::int32_t x, quantized_multiplier m) {
    const int left = m.shift > 0 ? m.shift : 0;
    const int right = m.shift > 0 ? 0 : -m.shift;
    std::int64_t shifted = std::int64_t{x} * (std::int64_t{1} << left);
    if (shifted > std::numeric_limits<std::int32_t>::max()) shifted = std::numeric_limits<std::int32_t>::max();
    if (shifted < std::numeric_limits<std::int32_t>::min()) shifted = std::numeric_limits<std::int32_t>::min();
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(static_cast<std::int32_t>(shifted),
                                                                       m.mantissa),
                                  right);
}

// -------------------------------------------------------------------------------- requantization policies
inline void check_requantization_scales(float s_in, float s_w, float s_out) {
    if (!(s_in > 0.0f) || !(s_w > 0.0f) || !(s_out > 0.0f) || !std::isfinite(s_in) || !std::isfinite(s_w) ||
        !std::isfinite(s_out))
        throw error("requantization: scales (input " + std::to_string(s_in) + ", weight " + std::to_string(s_w) +
                    ", output " + std::to_string(s_out) + ") must be finite and > 0");
}

struct float_requantization {
    static constexpr const char* name = "float_requantization";
    using multiplier = float;
    static multiplier make(float s_in, float s_w, float s_out) {
        check_requantization_scales(s_in, s_w, s_out);
        const float m = (s_in * s_w) / s_out;
        if (!std::isfinite(m)) throw error("float_requantization: s_in·s_w/s_out overflows float");
        return m;
    }
    static std::int64_t apply(std::int32_t acc, multiplier m) {
        const float r = std::nearbyint(static_cast<float>(acc) * m);
        constexpr float limit = 0x1p62f;  // |r| beyond any range: clamp before converting
        return static_cast<std::int64_t>(r > limit ? limit : r < -limit ? -limit : r);
    }
};

struct fixed_point_requantization {
    static constexpr const char* name = "fixed_point_requantization";
    using multiplier = quantized_multiplier;
    static multiplier make(float s_in, float s_w, float s_out) {
        check_requantization_scales(s_in, s_w, s_out);
        return quantize_multiplier(static_cast<double>(s_in) * static_cast<double>(s_w) /
                                   static_cast<double>(s_out));
    }
    static std::int64_t apply(std::int32_t acc, multiplier m) { return multiply_by_quantized_multiplier(acc, m); }
};

using pytorch_requantization = float_requantization;
using tflite_requantization = fixed_point_requantization;

}  // namespace archetype::quant
