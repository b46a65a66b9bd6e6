// archetype/layers/layer_norm.hpp — `layer_norm`: PyTorch's nn.LayerNorm(D) on token sequences.
//
// Contract: keeps the input shape {D, T, 1} (a sequence of T tokens of width D, stored [D][T]) and
// normalises every token over its D channels: y = γ·(x − mean)/√(var + eps) + β with the biased variance,
// eps 1e-5 and an elementwise affine γ[D], β[D] — nn.LayerNorm(D) applied to the [T][D] view. Any
// {C, H, W} input is accepted and read as C channels of T = H·W tokens (per-position normalisation over
// channels); on a flat {n, 1, 1} input that is nn.LayerNorm(n) of the vector.
// Parameters: γ[D] then β[D] (init 1, 0, as PyTorch). No state; training and inference are the same.
// cost: 2D params, 0 MACs, D·T activations. The workspace keeps each token's mean and 1/√(var + eps)
// from forward for backward (2T floats per sample) and 2T floats per sample of backward scratch.
// Samples run in parallel; γ and β gradients are summed over samples in order (parallel over channels),
// so the thread count does not change results. See kernels/layernorm.hpp.
#pragma once

#include <string>

#include "archetype/kernels/layernorm.hpp"
#include "archetype/layers/layer.hpp"

namespace archetype {

struct layer_norm {
    static constexpr float eps = 1e-5f;
    // Below this many values per call, threads cost more than they save.
    static constexpr std::size_t parallel_threshold = 1u << 12;

    static constexpr shape output(shape in) { return in; }
    static constexpr shape expected_input(shape in) { return in; }
    static constexpr cost cost_of(shape in) { return {2 * std::size_t(in.c), 0, in.size()}; }
    static std::string spelling() { return "archetype::layer_norm"; }

    template <shape In>
    struct op : op_base<layer_norm, In> {
        static constexpr std::size_t channels = std::size_t(In.c);
        static constexpr std::size_t tokens = std::size_t(In.h) * std::size_t(In.w);
        static constexpr std::size_t sample = In.size();
        static constexpr std::size_t param_count = 2 * channels;
        // [stats: batch × 2T][backward scratch: batch × 2T]
        static constexpr std::size_t work_size(std::size_t batch) { return 4 * tokens * batch; }

        static thread_pool* pool_for(const context& c) {
            return c.batch * sample >= parallel_threshold ? c.pool : nullptr;
        }
        static void init(float* w, float*, rng&) {
            for (std::size_t d = 0; d < channels; ++d) {
                w[d] = 1.0f;
                w[channels + d] = 0.0f;
            }
        }
        static void forward(const context& c, const slots& s, const float* x, float* y) {
            parallel_for(pool_for(c), c.batch, [&](std::size_t n) {
                kernels::layernorm_forward(x + n * sample, s.w, s.w + channels, y + n * sample,
                                           s.work + n * 2 * tokens, channels, tokens, eps);
            });
        }
        static void backward(const context& c, const slots& s, const float* x, const float*, const float* dy,
                             float* dx) {
            const float* stats = s.work;
            if (dx) {
                float* scratch = s.work + c.batch * 2 * tokens;
                parallel_for(pool_for(c), c.batch, [&](std::size_t n) {
                    kernels::layernorm_backward_data(x + n * sample, dy + n * sample, s.w, stats + n * 2 * tokens,
                                                     dx + n * sample, scratch + n * 2 * tokens, channels, tokens);
                });
            }
            if (s.dw) {
                parallel_for(pool_for(c), channels, [&](std::size_t d) {
                    kernels::layernorm_backward_params(x, dy, stats, s.dw, s.dw + channels, c.batch, channels,
                                                       tokens, d, d + 1);
                });
            }
        }
    };
};

}  // namespace archetype
