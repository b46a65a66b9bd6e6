// archetype/layers/conv2d.hpp — 2-D convolution `conv2d<Out, K, Stride, Pad, Dil, Groups, Bias>` and
// `depthwise_conv2d<K, Stride, Pad, Dil, Multiplier, Bias>`.
//
// Contract: square K×K kernel, zero padding Pad on every side, dilation Dil, Groups groups (the input
// channels and Out must be divisible by Groups); output {Out, (H + 2Pad − Dil(K−1) − 1)/Stride + 1, same
// for W}. depthwise_conv2d is conv2d with Groups = C_in and Out = C_in·Multiplier (the same op).
// Parameters: weight [Out][C/Groups][K][K], then bias [Out]; initialised as PyTorch's nn.Conv2d, both
// U(−1/√fan_in, 1/√fan_in) with fan_in = (C/Groups)·K·K, weights drawn first. expected_input rounds the
// channels up to a multiple of Groups and raises H, W to the smallest size that gives one output.
// Forward and the input gradient run batch-parallel. Weight and bias gradients: geometries of the
// partial-sums path (kernels/conv2d_weight_grad.hpp; LeNet's, most small convolutions) split the batch
// into fixed sample groups, any thread taking any group, the group results added in group order; the
// others (depthwise, large layers) sum over the batch in sample order, the threads taking disjoint ranges
// of output channels. Either way the result does not depend on the thread count.
#pragma once

#include <algorithm>
#include <cmath>

#include "archetype/kernels/conv2d.hpp"
#include "archetype/kernels/conv2d_weight_grad.hpp"
#include "archetype/layers/layer.hpp"

namespace archetype {

namespace detail {

constexpr shape conv_output(const kernels::conv2d_geometry& g) { return {g.out, g.ho(), g.wo()}; }

constexpr shape conv_expected_input(shape in, int groups, int k, int pad, int dil) {
    const int min_hw = std::max(1, dil * (k - 1) + 1 - 2 * pad);
    return {std::max(groups, (in.c + groups - 1) / groups * groups), std::max(in.h, min_hw),
            std::max(in.w, min_hw)};
}

constexpr cost conv_cost(const kernels::conv2d_geometry& g, bool bias) {
    const std::size_t weights = g.weight_count(), outputs = std::size_t(g.out) * g.ho() * g.wo();
    return {weights + (bias ? g.out : 0), weights * g.ho() * g.wo(), outputs};
}

// The op of every convolution descriptor D whose geometry on input In is G.
template <class D, shape In, kernels::conv2d_geometry G, bool Bias>
struct conv2d_op : op_base<D, In> {
    static_assert(G.valid(), "archetype: convolution: this input shape is not accepted (the channels must be "
                             "divisible by Groups and the padded input at least the kernel extent "
                             "Dil*(K-1)+1); compose layers in a sequential to have the shapes checked and named");
    static constexpr std::size_t weight_count = G.weight_count();
    static constexpr std::size_t param_count = weight_count + (Bias ? G.out : 0);
    static constexpr std::size_t fan_in = std::size_t(G.cg()) * G.k * G.k;
    static constexpr std::size_t in_size = In.size(), out_size = std::size_t(G.out) * G.ho() * G.wo();

    static void init(float* w, float*, rng& g) {
        const float bound = 1.0f / std::sqrt(float(fan_in));
        for (std::size_t i = 0; i < param_count; ++i) w[i] = g.uniform(-bound, bound);
    }
    static void forward(const context& c, const slots& s, const float* x, float* y) {
        const float* bias = Bias ? s.w + weight_count : nullptr;
        parallel_for(c.pool, c.batch, [&](std::size_t n) {
            kernels::conv2d_forward<G>(x + n * in_size, s.w, bias, y + n * out_size);
        });
    }
    static void backward(const context& c, const slots& s, const float* x, const float*, const float* dy,
                         float* dx) {
        auto input_gradient = [&](std::size_t n) {
            kernels::conv2d_backward_data<G>(dy + n * out_size, s.w, dx + n * in_size);
        };
        if constexpr (kernels::conv2d_weight_grad_grouped<G>) {
            if (s.dw) {
                // Fixed sample groups (their size depends on the batch only), each unrolled once by whichever
                // thread takes it; the group results are added in group order (same bits for any thread
                // count). With a group per thread or more, a group's input gradient is computed with it
                // (one parallel_for instead of two).
                constexpr std::size_t part = kernels::conv2d_weight_grad_part_floats<G>;
                const std::size_t per = kernels::conv2d_weight_grad_group_size<G>(c.batch);
                const std::size_t groups = (c.batch + per - 1) / per;
                const bool fused = dx && (!c.pool || groups >= c.pool->threads());
                if (dx && !fused) parallel_for(c.pool, c.batch, input_gradient);
                float* parts = kernels::conv2d_weight_grad_parts(groups * part);
                parallel_for(groups > 1 ? c.pool : nullptr, groups, [&](std::size_t g) {
                    const std::size_t s0 = g * per, n = std::min(per, c.batch - s0);
                    if (fused)
                        for (std::size_t i = s0; i < s0 + n; ++i) input_gradient(i);
                    kernels::conv2d_weight_grad_group<G>(x + s0 * in_size, dy + s0 * out_size, n, parts + g * part, Bias);
                });
                kernels::conv2d_weight_grad_reduce<G>(parts, groups, s.dw, Bias ? s.dw + weight_count : nullptr);
                return;
            }
        }
        if (dx) parallel_for(c.pool, c.batch, input_gradient);
        if constexpr (!kernels::conv2d_weight_grad_grouped<G>) {
            if (!s.dw) return;
            // Output channels are independent: each thread takes a contiguous range (same bits for any count).
            const std::size_t parts = c.pool ? std::min<std::size_t>(c.pool->threads(), std::size_t(G.out)) : 1;
            parallel_for(parts > 1 ? c.pool : nullptr, parts, [&](std::size_t t) {
                kernels::conv2d_backward_weights<G>(x, dy, c.batch, s.dw, Bias ? s.dw + weight_count : nullptr,
                                                    int(std::size_t(G.out) * t / parts),
                                                    int(std::size_t(G.out) * (t + 1) / parts));
            });
        }
    }
};

}  // namespace detail

template <int Out, int K, int Stride = 1, int Pad = 0, int Dil = 1, int Groups = 1, bool Bias = true>
struct conv2d {
    static_assert(Out > 0 && K > 0 && Stride > 0 && Pad >= 0 && Dil > 0 && Groups > 0,
                  "archetype::conv2d<Out, K, Stride, Pad, Dil, Groups>: Out, K, Stride, Dil and Groups must be "
                  "positive and Pad non-negative");
    static_assert(Out % Groups == 0, "archetype::conv2d: Out must be divisible by Groups");

    static constexpr kernels::conv2d_geometry geometry(shape in) {
        return {in.c, in.h, in.w, Out, K, Stride, Pad, Dil, Groups};
    }
    static constexpr shape output(shape in) { return detail::conv_output(geometry(in)); }
    static constexpr shape expected_input(shape in) { return detail::conv_expected_input(in, Groups, K, Pad, Dil); }
    static constexpr cost cost_of(shape in) { return detail::conv_cost(geometry(in), Bias); }
    static std::string spelling() {
        return "archetype::conv2d<" + spell_args(Out, K, Stride, Pad, Dil, Groups, Bias) + ">";
    }

    template <shape In>
    struct op : detail::conv2d_op<conv2d, In, geometry(In), Bias> {};
};

template <int K, int Stride = 1, int Pad = 0, int Dil = 1, int Multiplier = 1, bool Bias = true>
struct depthwise_conv2d {
    static_assert(K > 0 && Stride > 0 && Pad >= 0 && Dil > 0 && Multiplier > 0,
                  "archetype::depthwise_conv2d<K, Stride, Pad, Dil, Multiplier>: K, Stride, Dil and Multiplier "
                  "must be positive and Pad non-negative");

    static constexpr kernels::conv2d_geometry geometry(shape in) {
        return {in.c, in.h, in.w, in.c * Multiplier, K, Stride, Pad, Dil, in.c};
    }
    static constexpr shape output(shape in) { return detail::conv_output(geometry(in)); }
    static constexpr shape expected_input(shape in) { return detail::conv_expected_input(in, 1, K, Pad, Dil); }
    static constexpr cost cost_of(shape in) { return detail::conv_cost(geometry(in), Bias); }
    static std::string spelling() {
        return "archetype::depthwise_conv2d<" + spell_args(K, Stride, Pad, Dil, Multiplier, Bias) + ">";
    }

    template <shape In>
    struct op : detail::conv2d_op<depthwise_conv2d, In, geometry(In), Bias> {};
};

}  // namespace archetype
