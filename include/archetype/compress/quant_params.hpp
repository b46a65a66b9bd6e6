// archetype/compress/quant_params.hpp — integer ranges, quantization schemes and qparams (scale, zero point).
//
// Contract:
// - A *range policy* `quant_range<Storage, Min, Max, TorchDefault>` names the integer type a quantized value
//   is stored in and the interval [qmin, qmax] it is clamped to. The named ranges are
//       int8_full_range [-128, 127]   (torch.qint8, TFLite activations)
//       int8_narrow_range [-127, 127] (TFLite weights: symmetric, so −q and q both exist)
//       uint8_range [0, 255]          (torch.quint8, PyTorch's default activation dtype)
//       int8_reduced_range [-64, 63], uint8_reduced_range [0, 127]   (PyTorch's reduce_range=True)
//       int4_range [-8, 7], uint4_range [0, 15]   (4-bit values held in one byte each)
// - A *scheme* is `affine` (zero point anywhere in the range) or `symmetric` (zero point fixed: 0 for signed
//   storage; for unsigned storage 128 on PyTorch's default quint8 range and floor((qmin + qmax) / 2) on any
//   other range, as PyTorch 1.13 does for a user-given quant_min/quant_max).
// - choose_qparams<Range, Scheme>(min, max) is torch.ao.quantization's _calculate_qparams (PyTorch 1.13),
//   bit for bit, in float32: min is clamped to ≤ 0 and max to ≥ 0;
//       affine:    scale = max(float(max − min) / float(qmax − qmin), eps),
//                  zero_point = clamp(qmin − round_half_even(min / scale), qmin, qmax);
//       symmetric: scale = max(max(−min, max) / (float(qmax − qmin) / 2), eps), zero_point as above;
//   with eps = torch.finfo(float32).eps = 2^-23. The "nothing observed" pair (min = +inf, max = −inf)
//   gives PyTorch's default (scale 1, zero point 0). min > max, NaN, an infinite bound, or a range so wide
//   that the scale overflows float (max − min > FLT_MAX) throws archetype::error (PyTorch asserts, or
//   returns an infinite scale that quantizes everything to the zero point).
// - Per-channel qparams apply the same rule channel by channel (channel_qparams).
// Nothing here quantizes a tensor; see quantize.hpp (quantizer), fake_quant.hpp and observers.hpp.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "archetype/core/error.hpp"

namespace archetype::quant {

// ------------------------------------------------------------------------------------------------ ranges
template <class Storage, int Min, int Max, bool TorchDefault = false>
struct quant_range {
    static_assert(std::is_integral_v<Storage> && sizeof(Storage) <= 2, "quant_range: storage is a small integer");
    static_assert(Min <= 0 && 0 <= Max && Min < Max, "quant_range: [qmin, qmax] must contain 0 and not be empty");
    static_assert(Min >= std::numeric_limits<Storage>::min() && Max <= std::numeric_limits<Storage>::max(),
                  "quant_range: [qmin, qmax] must fit the storage type");
    using storage = Storage;
    static constexpr std::int32_t qmin = Min;
    static constexpr std::int32_t qmax = Max;
    static constexpr bool is_signed = std::is_signed_v<Storage>;
    // PyTorch 1.13: 0 for qint8; 128 for quint8 with its default range; floor((qmin + qmax) / 2) for quint8
    // with a user-given range.
    static constexpr std::int32_t symmetric_zero_point = is_signed ? 0 : TorchDefault ? 128 : (Min + Max) / 2;
    static_assert(symmetric_zero_point >= Min && symmetric_zero_point <= Max);
};

using int8_full_range = quant_range<std::int8_t, -128, 127>;
using int8_narrow_range = quant_range<std::int8_t, -127, 127>;
using uint8_range = quant_range<std::uint8_t, 0, 255, true>;
using int8_reduced_range = quant_range<std::int8_t, -64, 63>;
using uint8_reduced_range = quant_range<std::uint8_t, 0, 127>;
using int4_range = quant_range<std::int8_t, -8, 7>;
using uint4_range = quant_range<std::uint8_t, 0, 15>;

template <class T>
concept range_policy = requires {
    typename T::storage;
    { T::qmin } -> std::convertible_to<std::int32_t>;
    { T::qmax } -> std::convertible_to<std::int32_t>;
    { T::symmetric_zero_point } -> std::convertible_to<std::int32_t>;
};

// ----------------------------------------------------------------------------------------------- schemes
struct affine {
    static constexpr bool is_symmetric = false;
};
struct symmetric {
    static constexpr bool is_symmetric = true;
};

// ----------------------------------------------------------------------------------------------- qparams
struct qparams {
    float scale = 1.0f;
    std::int32_t zero_point = 0;
    constexpr bool operator==(const qparams&) const = default;
};

// torch.finfo(torch.float32).eps, PyTorch's lower bound on a computed scale.
inline constexpr float torch_scale_eps = 0x1p-23f;

// Throws unless scale is finite and > 0 and zero_point lies in [qmin, qmax]; `who` names the caller.
template <range_policy Range>
void check_qparams(const qparams& p, const char* who) {
    if (!(p.scale > 0.0f) || !std::isfinite(p.scale))
        throw error(std::string(who) + ": scale " + std::to_string(p.scale) +
                    " must be finite and > 0; take qparams from choose_qparams or an observer");
    if (p.zero_point < Range::qmin || p.zero_point > Range::qmax)
        throw error(std::string(who) + ": zero point " + std::to_string(p.zero_point) + " lies outside [" +
                    std::to_string(Range::qmin) + ", " + std::to_string(Range::qmax) +
                    "]; use qparams chosen for this range");
}

[[noreturn]] inline void throw_too_wide(float min_val, float max_val) {
    throw error("choose_qparams: range [" + std::to_string(min_val) + ", " + std::to_string(max_val) +
                "] is too wide for a float32 scale; clip the outliers (e.g. percentile_observer)");
}

// PyTorch 1.13's _calculate_qparams for one (min, max) pair; see the contract at the top.
template <range_policy Range, class Scheme = affine>
qparams choose_qparams(float min_val, float max_val) {
    constexpr float inf = std::numeric_limits<float>::infinity();
    if (min_val == inf && max_val == -inf) return {1.0f, 0};  // nothing observed: PyTorch's default
    if (!std::isfinite(min_val) || !std::isfinite(max_val) || !(min_val <= max_val))
        throw error("choose_qparams: range [" + std::to_string(min_val) + ", " + std::to_string(max_val) +
                    "] must be finite with min <= max; observe finite data before asking for qparams");
    const float min_neg = min_val < 0.0f ? min_val : 0.0f;
    const float max_pos = max_val > 0.0f ? max_val : 0.0f;
    const float span = static_cast<float>(Range::qmax - Range::qmin);
    if constexpr (Scheme::is_symmetric) {
        const float bound = -min_neg > max_pos ? -min_neg : max_pos;
        float scale = bound / (span / 2.0f);
        if (!std::isfinite(scale)) throw_too_wide(min_val, max_val);
        if (scale < torch_scale_eps) scale = torch_scale_eps;
        return {scale, Range::symmetric_zero_point};
    } else {
        float scale = (max_pos - min_neg) / span;
        if (!std::isfinite(scale)) throw_too_wide(min_val, max_val);
        if (scale < torch_scale_eps) scale = torch_scale_eps;
        // torch.round is round-half-to-even, like std::nearbyint in the default rounding mode.
        const float shift = std::nearbyint(min_neg / scale);  // in [-(qmax − qmin), 0]: exact in int32
        std::int32_t zp = Range::qmin - static_cast<std::int32_t>(shift);
        if (zp < Range::qmin) zp = Range::qmin;
        if (zp > Range::qmax) zp = Range::qmax;
        return {scale, zp};
    }
}

// ------------------------------------------------------------------------------------------- per channel
// How a tensor splits into channels: [outer][channels][inner] (NCHW activations: outer = batch,
// inner = H·W; OIHW weights: outer = 1, channels = O, inner = I·H·W). Per tensor: {1, 1, n}.
struct channel_layout {
    std::size_t outer = 1, channels = 1, inner = 1;
    constexpr std::size_t size() const { return outer * channels * inner; }
};

struct channel_qparams {
    std::vector<float> scale;
    std::vector<std::int32_t> zero_point;
    std::size_t channels() const { return scale.size(); }
    qparams operator[](std::size_t c) const { return {scale[c], zero_point[c]}; }
};

template <range_policy Range, class Scheme = affine>
channel_qparams choose_qparams(std::span<const float> min_val, std::span<const float> max_val) {
    if (min_val.size() != max_val.size())
        throw error("choose_qparams: " + std::to_string(min_val.size()) + " channel minima but " +
                    std::to_string(max_val.size()) + " maxima; pass one of each per channel");
    channel_qparams out;
    out.scale.resize(min_val.size());
    out.zero_point.resize(min_val.size());
    for (std::size_t c = 0; c < min_val.size(); ++c) {
        const qparams p = choose_qparams<Range, Scheme>(min_val[c], max_val[c]);
        out.scale[c] = p.scale;
        out.zero_point[c] = p.zero_point;
    }
    return out;
}

}  // namespace archetype::quant
