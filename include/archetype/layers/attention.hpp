// archetype/layers/attention.hpp — multi-head self-attention `multi_head_attention<Heads, Bias = true>`.
//
// Contract: keeps the input shape {D, T, 1} (T tokens of width D, stored [D][T]); D must be divisible by
// Heads (expected_input rounds D up to a multiple of Heads, so a sequential names the mismatch). Any
// {C, H, W} input is read as T = H·W tokens of width C. It is PyTorch's nn.MultiheadAttention(D, Heads,
// bias=Bias, batch_first=True) called as self-attention mha(x, x, x, need_weights=False), with no mask
// and no dropout:
//     [Q; K; V] = W_in·x + b_in                 W_in [3D][D], b_in [3D]  (in_proj_weight, in_proj_bias)
//     O_h = V_h·softmax(Q_hᵀK_h / √(D/Heads))ᵀ  per head h (rows h·D/Heads .. of Q, K, V)
//     y = W_out·[O_1; ...; O_Heads] + b_out     W_out [D][D], b_out [D]  (out_proj.weight, .bias)
// Parameters in this order: W_in, b_in, W_out, b_out (the biases only when Bias), i.e. PyTorch's
// parameters flattened in its registration order. Initialisation as PyTorch: W_in Xavier-uniform
// U(±√(6/(D + 3D))), W_out U(±1/√D), biases 0.
// cost_of {D, T, 1}: params 4D² + 4D (4D² without bias); MACs 4·T·D² (the Q, K, V and output projections,
// T·D² each) + 2·T²·D (QᵀK and P·V, T²·D/Heads each per head; the softmax, the 1/√dh scaling and the
// biases are not counted); activations D·T (the output; the attention matrices are kept in the workspace).
// The workspace keeps Q, K, V, the attention probabilities and the attention output from forward for
// backward, plus backward scratch. Samples run in parallel; parameter gradients are summed over samples
// in order (parallel over rows), so the thread count does not change results. See kernels/attention.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "archetype/kernels/attention.hpp"
#include "archetype/layers/layer.hpp"

namespace archetype {

template <int Heads, bool Bias = true>
struct multi_head_attention {
    static_assert(Heads > 0, "archetype::multi_head_attention<Heads>: Heads must be positive");

    static constexpr shape output(shape in) { return in; }
    static constexpr shape expected_input(shape in) {
        return {std::max(Heads, (in.c + Heads - 1) / Heads * Heads), in.h, in.w};
    }
    static constexpr cost cost_of(shape in) {
        const std::size_t d = std::size_t(in.c), t = std::size_t(in.h) * std::size_t(in.w);
        return {4 * d * d + (Bias ? 4 * d : 0), 4 * t * d * d + 2 * t * t * d, d * t};
    }
    static std::string spelling() { return "archetype::multi_head_attention<" + spell_args(Heads, Bias) + ">"; }

    template <shape In>
    struct op : op_base<multi_head_attention, In> {
        static_assert(In.c % Heads == 0,
                      "archetype::multi_head_attention<Heads>: the token width (channels of the input) must be "
                      "divisible by Heads; compose layers in a sequential to have the shapes checked and named");
        static constexpr std::size_t d = std::size_t(In.c);
        static constexpr std::size_t t = std::size_t(In.h) * std::size_t(In.w);
        static constexpr std::size_t heads = std::size_t(Heads), dh = d / heads;
        static constexpr std::size_t sample = d * t;
        // parameter offsets
        static constexpr std::size_t w_in = 0, b_in = 3 * d * d;
        static constexpr std::size_t w_out = b_in + (Bias ? 3 * d : 0), b_out = w_out + d * d;
        static constexpr std::size_t param_count = b_out + (Bias ? d : 0);

        // workspace, each part batch × its per-sample size:
        //   qkv [3D][T] | p [H][T][T] | o [D][T]      kept from forward
        //   do [D][T] | dqkv [3D][T] | dp [T][T]      backward scratch
        static constexpr std::size_t qkv_size = 3 * sample, p_size = heads * t * t;
        static constexpr std::size_t p_off(std::size_t n) { return n * qkv_size; }
        static constexpr std::size_t o_off(std::size_t n) { return p_off(n) + n * p_size; }
        static constexpr std::size_t do_off(std::size_t n) { return o_off(n) + n * sample; }
        static constexpr std::size_t dqkv_off(std::size_t n) { return do_off(n) + n * sample; }
        static constexpr std::size_t dp_off(std::size_t n) { return dqkv_off(n) + n * qkv_size; }
        static constexpr std::size_t work_size(std::size_t n) { return dp_off(n) + n * t * t; }

        static const float* bias(const float* w, std::size_t off) { return Bias ? w + off : nullptr; }
        static float* bias(float* w, std::size_t off) { return Bias ? w + off : nullptr; }

        static void init(float* w, float*, rng& g) {
            const float in_bound = std::sqrt(6.0f / float(4 * d));
            for (std::size_t i = 0; i < 3 * d * d; ++i) w[w_in + i] = g.uniform(-in_bound, in_bound);
            const float out_bound = 1.0f / std::sqrt(float(d));
            for (std::size_t i = 0; i < d * d; ++i) w[w_out + i] = g.uniform(-out_bound, out_bound);
            if constexpr (Bias) {
                std::fill(w + b_in, w + b_in + 3 * d, 0.0f);
                std::fill(w + b_out, w + b_out + d, 0.0f);
            }
        }

        static void forward(const context& c, const slots& s, const float* x, float* y) {
            const float scale = 1.0f / std::sqrt(float(dh));
            float* qkv = s.work;
            float* p = s.work + p_off(c.batch);
            float* o = s.work + o_off(c.batch);
            parallel_for(c.pool, c.batch, [&](std::size_t n) {
                float* qkv_n = qkv + n * qkv_size;
                float* o_n = o + n * sample;
                kernels::token_linear_forward(x + n * sample, s.w + w_in, bias(s.w, b_in), qkv_n, d, 3 * d, t);
                kernels::attention_forward(qkv_n, p + n * p_size, o_n, heads, dh, t, scale);
                kernels::token_linear_forward(o_n, s.w + w_out, bias(s.w, b_out), y + n * sample, d, d, t);
            });
        }

        static void backward(const context& c, const slots& s, const float* x, const float*, const float* dy,
                             float* dx) {
            if (!dx && !s.dw) return;
            const float scale = 1.0f / std::sqrt(float(dh));
            const std::size_t nb = c.batch;
            const float* qkv = s.work;
            const float* p = s.work + p_off(nb);
            const float* o = s.work + o_off(nb);
            float* d_o = s.work + do_off(nb);
            float* dqkv = s.work + dqkv_off(nb);
            float* dp = s.work + dp_off(nb);
            parallel_for(c.pool, nb, [&](std::size_t n) {
                kernels::token_linear_backward_data(dy + n * sample, s.w + w_out, d_o + n * sample, d, d, t);
                kernels::attention_backward(qkv + n * qkv_size, p + n * p_size, d_o + n * sample,
                                            dqkv + n * qkv_size, dp + n * t * t, heads, dh, t, scale);
                if (dx)
                    kernels::token_linear_backward_data(dqkv + n * qkv_size, s.w + w_in, dx + n * sample, d, 3 * d, t);
            });
            if (!s.dw) return;
            // rows 0 .. 3D of W_in, then rows 3D .. 4D are the rows of W_out
            parallel_for(c.pool, 4 * d, [&](std::size_t r) {
                if (r < 3 * d)
                    kernels::token_linear_backward_params(x, dqkv, s.dw + w_in, bias(s.dw, b_in), nb, d, 3 * d, t, r,
                                                          r + 1);
                else
                    kernels::token_linear_backward_params(o, dy, s.dw + w_out, bias(s.dw, b_out), nb, d, d, t,
                                                          r - 3 * d, r - 3 * d + 1);
            });
        }
    };
};

}  // namespace archetype
