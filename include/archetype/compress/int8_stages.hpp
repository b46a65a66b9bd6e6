// archetype/compress/int8_stages.hpp — the run-time stages of an int8 network (see int8_network.hpp): each
// holds its packed integer weights and epilogue and runs one fused group of fp32 layers on u8 activations.
//
// Contract: stage::run(x, y, batch) reads batch samples of in_size u8 values (NCHW) and writes batch ×
// out_size outputs, u8 or (float_output) dequantized float. A weighted stage is built from float weights
// W [out][depth] and bias b [out] (BN already folded), the input and output qparams and a fused activation:
//   weights: per-channel symmetric int8 in [-127, 127] (choose_qparams<int8_narrow_range, symmetric> of each
//            channel's min/max; PyTorch rounding); bias: round_half_even(b / (s_in · s_w[o])) as int32,
//            minus z_in · Σ_k q_w[o][k] (the zero-point compensation);
//   requantization: Requantization::make(s_in, s_w[o], s_out) (float or fixed-point policy, rounding.hpp);
//   activation: ReLU clamps at z_out, ReLU6 also at min(255, z_out + round(6 / s_out)).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "archetype/compress/quantize.hpp"
#include "archetype/kernels/int8_conv2d.hpp"
#include "archetype/kernels/int8_dense.hpp"
#include "archetype/kernels/int8_eltwise.hpp"

namespace archetype::quant {

enum class fused_activation { none, relu, relu6 };

struct int8_stage {
    std::size_t in_size = 0, out_size = 0;
    bool float_output = false;
    virtual ~int8_stage() = default;
    virtual void run(const std::uint8_t* x, void* y, std::size_t batch) const = 0;
    virtual std::size_t weight_bytes() const { return 0; }
};

// Quantized weights, bias and epilogue arrays of one conv or dense stage.
template <class Requantization>
struct int8_weighted {
    std::vector<std::int8_t> w;
    std::vector<std::int32_t> bias, mantissa, shift;
    std::vector<float> multiplier, dequant;
    kernels::int8_epilogue e;

    int8_weighted(const float* wf, const float* bf, std::size_t out, std::size_t depth, qparams in_q, qparams out_q,
                  fused_activation act, bool float_output)
        : w(out * depth) {
        std::vector<float> lo(out), hi(out);
        for (std::size_t o = 0; o < out; ++o) {
            lo[o] = *std::min_element(wf + o * depth, wf + (o + 1) * depth);
            hi[o] = *std::max_element(wf + o * depth, wf + (o + 1) * depth);
        }
        const channel_qparams wq = choose_qparams<int8_narrow_range, symmetric>(lo, hi);
        quantizer<pytorch_rounding, int8_narrow_range, per_channel>::quantize(wf, w.data(), {1, out, depth}, wq);
        const auto sums = kernels::int8_row_sums(w.data(), out, depth);
        for (std::size_t o = 0; o < out; ++o) {
            const double s = double(in_q.scale) * double(wq.scale[o]);
            const double bq = std::nearbyint(double(bf ? bf[o] : 0.0f) / s);
            const double lim = double(std::numeric_limits<std::int32_t>::max() / 2);
            bias.push_back(std::int32_t(std::clamp(bq, -lim, lim)) - in_q.zero_point * sums[o]);
            dequant.push_back(in_q.scale * wq.scale[o]);
            if (!float_output) {
                const auto m = Requantization::make(in_q.scale, wq.scale[o], out_q.scale);
                if constexpr (std::is_same_v<typename Requantization::multiplier, float>) {
                    multiplier.push_back(m);
                } else {
                    mantissa.push_back(m.mantissa);
                    shift.push_back(m.shift);
                }
            }
        }
        e.bias = bias.data();
        e.multiplier = multiplier.empty() ? nullptr : multiplier.data();
        e.mantissa = mantissa.empty() ? nullptr : mantissa.data();
        e.shift = shift.empty() ? nullptr : shift.data();
        e.dequant_scale = dequant.data();
        e.zero_point = out_q.zero_point;
        e.lo = act == fused_activation::none ? 0 : out_q.zero_point;
        e.hi = act == fused_activation::relu6
                   ? std::min<std::int32_t>(255, out_q.zero_point + std::int32_t(std::nearbyint(6.0f / out_q.scale)))
                   : 255;
    }
};

template <kernels::conv2d_geometry G, class Requantization>
struct int8_conv_stage final : int8_stage {
    static constexpr bool depthwise = G.groups == G.c && G.c > 1;  // (one input channel: a plain conv)
    static constexpr std::size_t depth = std::size_t(G.cg()) * G.k * G.k;
    int8_weighted<Requantization> q;
    kernels::int8_matrix packed;
    std::uint8_t zp_in;
    kernels::int8_path path;

    int8_conv_stage(kernels::int8_path p, const float* wf, const float* bf, qparams in_q, qparams out_q,
                    fused_activation act, bool float_out)
        : q(wf, bf, G.out, depth, in_q, out_q, act, float_out), zp_in(std::uint8_t(in_q.zero_point)), path(p) {
        if (!depthwise) packed = kernels::int8_pack_rows(p, q.w.data(), G.out, depth);
        in_size = std::size_t(G.c) * G.h * G.w;
        out_size = std::size_t(G.out) * G.ho() * G.wo();
        float_output = float_out;
    }
    template <class Out>
    void run_as(const std::uint8_t* x, Out* y, std::size_t batch) const {
        for (std::size_t n = 0; n < batch; ++n) {
            if constexpr (depthwise) {
                kernels::int8_depthwise_forward<G>(path, q.w.data(), x + n * in_size, zp_in, q.e, y + n * out_size);
            } else {
                kernels::int8_conv2d_forward<G>(packed, x + n * in_size, zp_in, q.e, y + n * out_size);
            }
        }
    }
    void run(const std::uint8_t* x, void* y, std::size_t batch) const override {
        if (float_output) {
            run_as(x, static_cast<float*>(y), batch);
        } else {
            run_as(x, static_cast<std::uint8_t*>(y), batch);
        }
    }
    std::size_t weight_bytes() const override { return q.w.size() + 4 * G.out; }
};

template <class Requantization>
struct int8_dense_stage final : int8_stage {
    int8_weighted<Requantization> q;
    kernels::int8_matrix packed;

    int8_dense_stage(kernels::int8_path p, const float* wf, const float* bf, std::size_t in, std::size_t out,
                     qparams in_q, qparams out_q, fused_activation act, bool float_out)
        : q(wf, bf, out, in, in_q, out_q, act, float_out), packed(kernels::int8_pack_columns(p, q.w.data(), out, in)) {
        in_size = in;
        out_size = out;
        float_output = float_out;
    }
    void run(const std::uint8_t* x, void* y, std::size_t batch) const override {
        if (float_output) {
            kernels::int8_dense_forward(packed, x, batch, q.e, static_cast<float*>(y));
        } else {
            kernels::int8_dense_forward(packed, x, batch, q.e, static_cast<std::uint8_t*>(y));
        }
    }
    std::size_t weight_bytes() const override { return q.w.size() + 4 * packed.channels; }
};

template <kernels::pool2d_geometry G>
struct int8_max_pool_stage final : int8_stage {
    int8_max_pool_stage() {
        in_size = std::size_t(G.c) * G.h * G.w;
        out_size = std::size_t(G.c) * G.ho() * G.wo();
    }
    void run(const std::uint8_t* x, void* y, std::size_t batch) const override {
        for (std::size_t n = 0; n < batch; ++n)
            kernels::int8_max_pool<G>(x + n * in_size, static_cast<std::uint8_t*>(y) + n * out_size);
    }
};

template <kernels::pool2d_geometry G, bool IncludePad>
struct int8_avg_pool_stage final : int8_stage {
    qparams in_q, out_q;
    int8_avg_pool_stage(qparams i, qparams o) : in_q(i), out_q(o) {
        in_size = std::size_t(G.c) * G.h * G.w;
        out_size = std::size_t(G.c) * G.ho() * G.wo();
    }
    void run(const std::uint8_t* x, void* y, std::size_t batch) const override {
        for (std::size_t n = 0; n < batch; ++n)
            kernels::int8_avg_pool<G, IncludePad>(x + n * in_size, in_q.zero_point, in_q.scale / out_q.scale,
                                                  out_q.zero_point, static_cast<std::uint8_t*>(y) + n * out_size);
    }
};

struct int8_global_avg_pool_stage final : int8_stage {
    std::size_t c, hw;
    qparams in_q, out_q;
    int8_global_avg_pool_stage(std::size_t channels, std::size_t plane, qparams i, qparams o)
        : c(channels), hw(plane), in_q(i), out_q(o) {
        in_size = c * hw;
        out_size = c;
    }
    void run(const std::uint8_t* x, void* y, std::size_t batch) const override {
        for (std::size_t n = 0; n < batch; ++n)
            kernels::int8_global_avg_pool(x + n * in_size, c, hw, in_q.zero_point, in_q.scale / out_q.scale,
                                          out_q.zero_point, static_cast<std::uint8_t*>(y) + n * out_size);
    }
};

// A stand-alone ReLU/ReLU6 (not after a conv or dense): clamps in place of the input qparams.
struct int8_clamp_stage final : int8_stage {
    std::uint8_t lo, hi;
    int8_clamp_stage(std::size_t size, std::uint8_t l, std::uint8_t h) : lo(l), hi(h) { in_size = out_size = size; }
    void run(const std::uint8_t* x, void* y, std::size_t batch) const override {
        auto* out = static_cast<std::uint8_t*>(y);
        for (std::size_t i = 0; i < batch * in_size; ++i) out[i] = std::clamp(x[i], lo, hi);
    }
};

// The sum (residual add) or channel concat of branch outputs, each requantized to the output qparams, with a
// following ReLU/ReLU6 fused into the clamp [lo, hi]. A sum of two runs kernels::int8_add; of more,
// y = clamp(round_half_even(fma(x_k − z_k, m_k, ... fma(x_1 − z_1, m_1, (x_0 − z_0) · m_0))) + z_y), the
// same operations in branch order. A concat copies a branch whose qparams equal the output's and
// requantizes the others: y = clamp(round_half_even((x − z) · m) + z_y) with m = s_x / s_y.
struct int8_join_stage {
    kernels::int8_path path;
    bool concat;
    std::vector<qparams> in_q;
    std::vector<std::size_t> sizes;  // per-sample values of each input
    qparams out_q;
    std::int32_t lo, hi;
    std::size_t out_size = 0;

    int8_join_stage(kernels::int8_path p, bool is_concat, std::vector<qparams> inputs, std::vector<std::size_t> input_sizes,
                    qparams out, fused_activation act)
        : path(p), concat(is_concat), in_q(std::move(inputs)), sizes(std::move(input_sizes)), out_q(out),
          lo(act == fused_activation::none ? 0 : out.zero_point),
          hi(act == fused_activation::relu6
                 ? std::min<std::int32_t>(255, out.zero_point + std::int32_t(std::nearbyint(6.0f / out.scale)))
                 : 255) {
        for (auto n : sizes) out_size = concat ? out_size + n : n;
    }
    float ratio(std::size_t i) const { return in_q[i].scale / out_q.scale; }

    void run(const std::uint8_t* const* x, std::uint8_t* y, std::size_t batch) const {
        const std::size_t k = in_q.size();
        if (!concat && k == 2) {
            const kernels::int8_add_params p{in_q[0].zero_point, ratio(0), in_q[1].zero_point, ratio(1),
                                             out_q.zero_point,   lo,       hi};
            kernels::int8_add(path, x[0], x[1], batch * out_size, p, y);
        } else if (!concat) {
            for (std::size_t j = 0; j < batch * out_size; ++j) {
                float acc = float(std::int32_t{x[0][j]} - in_q[0].zero_point) * ratio(0);
                for (std::size_t i = 1; i < k; ++i)
                    acc = std::fma(float(std::int32_t{x[i][j]} - in_q[i].zero_point), ratio(i), acc);
                y[j] = kernels::int8_detail::round_to_u8(acc, out_q.zero_point, lo, hi);
            }
        } else {
            for (std::size_t n = 0; n < batch; ++n)
                for (std::size_t i = 0; i < k; ++i) {
                    const std::uint8_t* src = x[i] + n * sizes[i];
                    const bool same = in_q[i].scale == out_q.scale && in_q[i].zero_point == out_q.zero_point;
                    const float m = ratio(i);
                    for (std::size_t j = 0; j < sizes[i]; ++j, ++y)
                        *y = same ? std::uint8_t(std::clamp<std::int32_t>(src[j], lo, hi))
                                  : kernels::int8_detail::round_to_u8(float(std::int32_t{src[j]} - in_q[i].zero_point) * m,
                                                                      out_q.zero_point, lo, hi);
                }
        }
    }
};

// The last stage when it is not a conv or dense: dequantizes its u8 output.
struct int8_dequantize_stage final : int8_stage {
    qparams p;
    int8_dequantize_stage(std::size_t size, qparams q) : p(q) {
        in_size = out_size = size;
        float_output = true;
    }
    void run(const std::uint8_t* x, void* y, std::size_t batch) const override {
        quantizer<pytorch_rounding, uint8_range>::dequantize(x, static_cast<float*>(y), batch * in_size, p);
    }
};

}  // namespace archetype::quant
