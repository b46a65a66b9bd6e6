// archetype/compress/fake_quant.hpp — fake quantization (quantize then dequantize in float) for QAT, with the
// clipped straight-through estimator as its gradient.
//
// Contract: `fake_quantizer<Rounding, Range, Granularity>`, with quant_min = Range::qmin, quant_max = Range::qmax:
//   forward:  q = Rounding::round_scaled(x, factor(scale)) + zero_point          (unclamped integer)
//             y = float(clamp(q, qmin, qmax) − zero_point) · scale
//             mask = qmin <= q <= qmax          (written to `mask` when it is not null)
//   backward: dx = dy · float(mask)             (so a masked negative dy gives −0.0, as PyTorch's dY * mask)
// With round_half_even_mul_inverse this is torch.fake_quantize_per_tensor_affine and
// torch.fake_quantize_per_channel_affine (PyTorch 1.13, CPU) bit for bit, forward and backward, for every
// |x / scale| < 2^63. Beyond, PyTorch's cast to int64 is undefined (x86: qmin for +inf too); here ±huge
// clamps to the bound of its sign, NaN to qmin, all with mask 0.
// backward recomputes the mask from x unless given the mask of the forward (both give the same bits).
// Layouts and parameters are those of quantizer (quantize.hpp): per_tensor takes qparams, per_channel a
// channel_qparams with one entry per channel of [outer][channels][inner]. Only elementwise work: results do
// not depend on threading. The gradients of scale and zero point (LSQ, learnable fake quant) are not here.
#pragma once

#include <cstddef>
#include <cstdint>

#include "archetype/compress/quantize.hpp"

namespace archetype::quant {

template <rounding_policy Rounding, range_policy Range, class Granularity = per_tensor>
struct fake_quantizer {
    using quantizer_type = quantizer<Rounding, Range, Granularity>;
    using params = typename Granularity::params;

    // One element: the fake-quantized value; `inside` receives the STE mask.
    static float value(float x, float factor, qparams p, bool& inside) {
        const float q = Rounding::round_scaled(x, factor) + static_cast<float>(p.zero_point);
        inside = q >= static_cast<float>(Range::qmin) && q <= static_cast<float>(Range::qmax);
        return static_cast<float>(clamp_to_range<Range>(q) - p.zero_point) * p.scale;
    }
    static bool inside(float x, float factor, qparams p) {
        const float q = Rounding::round_scaled(x, factor) + static_cast<float>(p.zero_point);
        return q >= static_cast<float>(Range::qmin) && q <= static_cast<float>(Range::qmax);
    }

    static void forward(const float* x, float* y, channel_layout layout, const params& p,
                        std::uint8_t* mask = nullptr) {
        quantizer_type::check(layout, p, "fake_quantize forward");
        for (std::size_t o = 0, i = 0; o < layout.outer; ++o)
            for (std::size_t c = 0; c < layout.channels; ++c) {
                const qparams pc = Granularity::at(p, c);
                const float factor = Rounding::factor(pc.scale);
                for (std::size_t k = 0; k < layout.inner; ++k, ++i) {
                    bool in = false;
                    y[i] = value(x[i], factor, pc, in);
                    if (mask) mask[i] = in ? 1 : 0;
                }
            }
    }

    // dx = dy · mask, the mask recomputed from x.
    static void backward(const float* x, const float* dy, float* dx, channel_layout layout, const params& p) {
        quantizer_type::check(layout, p, "fake_quantize backward");
        for (std::size_t o = 0, i = 0; o < layout.outer; ++o)
            for (std::size_t c = 0; c < layout.channels; ++c) {
                const qparams pc = Granularity::at(p, c);
                const float factor = Rounding::factor(pc.scale);
                for (std::size_t k = 0; k < layout.inner; ++k, ++i)
                    dx[i] = dy[i] * (inside(x[i], factor, pc) ? 1.0f : 0.0f);
            }
    }

    // dx = dy · mask with the mask the forward wrote.
    static void backward_with_mask(const std::uint8_t* mask, const float* dy, float* dx, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * (mask[i] ? 1.0f : 0.0f);
    }

    // Per tensor, the layout is just a count.
    static void forward(const float* x, float* y, std::size_t n, const params& p, std::uint8_t* mask = nullptr) {
        forward(x, y, channel_layout{1, 1, n}, p, mask);
    }
    static void backward(const float* x, const float* dy, float* dx, std::size_t n, const params& p) {
        backward(x, dy, dx, channel_layout{1, 1, n}, p);
    }
};

}  // namespace archetype::quant
