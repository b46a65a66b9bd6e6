// archetype/layers/batchnorm.hpp — `batch_norm`: PyTorch's BatchNorm2d (and BatchNorm1d on flat inputs).
//
// Contract: keeps the input shape {C, H, W} and normalises each channel over the batch and H·W; on a
// flat {C, 1, 1} input that is BatchNorm1d over the batch. PyTorch defaults: eps 1e-5, momentum 0.1,
// affine, running statistics tracked. Parameters: γ[C] then β[C] (init 1, 0). State: running_mean[C]
// then running_var[C] (init 0, 1). cost: 2C params, 0 MACs, output size activations.
//   training (context.training): y = γ·(x − mean)/√(var + eps) + β with the batch mean and biased
//     variance; running_mean ← 0.9·running_mean + 0.1·mean, running_var ← 0.9·running_var +
//     0.1·var·n/(n − 1) (unbiased, n = N·H·W). n == 1 throws archetype::error, as PyTorch does.
//     backward: the full gradient through the batch mean and variance.
//   inference: the same with running_mean and running_var; backward is the affine gradient.
// The workspace keeps the mean and 1/√(var + eps) that forward used (2C floats) for backward.
// Channels run in parallel; each channel's sums run in a fixed order, so threads do not change results.
#pragma once

#include <cmath>
#include <string>

#include "archetype/kernels/batchnorm.hpp"
#include "archetype/layers/layer.hpp"

namespace archetype {

struct batch_norm {
    static constexpr float eps = 1e-5f;
    static constexpr float momentum = 0.1f;
    // Below this many values per call, threads cost more than they save.
    static constexpr std::size_t parallel_threshold = 1u << 12;

    static constexpr shape output(shape in) { return in; }
    static constexpr shape expected_input(shape in) { return in; }
    static constexpr cost cost_of(shape in) { return {2 * std::size_t(in.c), 0, in.size()}; }
    static std::string spelling() { return "archetype::batch_norm"; }

    template <shape In>
    struct op : op_base<batch_norm, In> {
        static constexpr std::size_t channels = std::size_t(In.c);
        static constexpr std::size_t spatial = std::size_t(In.h) * std::size_t(In.w);
        static constexpr std::size_t stride = In.size();
        static constexpr std::size_t param_count = 2 * channels;
        static constexpr std::size_t state_count = 2 * channels;
        static constexpr std::size_t work_size(std::size_t) { return 2 * channels; }

        static thread_pool* pool_for(const context& c) {
            return c.batch * stride >= parallel_threshold ? c.pool : nullptr;
        }

        static void init(float* w, float* state, rng&) {
            for (std::size_t ch = 0; ch < channels; ++ch) {
                w[ch] = 1.0f;
                w[channels + ch] = 0.0f;
                state[ch] = 0.0f;
                state[channels + ch] = 1.0f;
            }
        }

        static void forward(const context& c, const slots& s, const float* x, float* y) {
            const std::size_t count = c.batch * spatial;
            if (c.training && count < 2)
                throw error("batch_norm on samples of shape " + In.str() +
                            ": expected more than 1 value per channel when training, got " +
                            std::to_string(count) +
                            " (a batch of 1 sample with H·W = 1); train with a batch of at least 2 samples, "
                            "or run the network in inference mode (training = false)");
            float* mean = s.work;
            float* inv_std = s.work + channels;
            float* running_mean = s.state;
            float* running_var = s.state + channels;
            parallel_for(pool_for(c), channels, [&](std::size_t ch) {
                const float* xc = x + ch * spatial;
                if (c.training) {
                    const auto m = kernels::batchnorm_moments(xc, c.batch, stride, spatial);
                    mean[ch] = float(m.mean);
                    inv_std[ch] = float(1.0 / std::sqrt(m.var + double(eps)));
                    const double unbiased = m.var * double(count) / double(count - 1);
                    const double mom = double(momentum);
                    running_mean[ch] = float(mom * m.mean + (1.0 - mom) * double(running_mean[ch]));
                    running_var[ch] = float(mom * unbiased + (1.0 - mom) * double(running_var[ch]));
                } else {
                    mean[ch] = running_mean[ch];
                    inv_std[ch] = float(1.0 / std::sqrt(double(running_var[ch]) + double(eps)));
                }
                const float scale = s.w[ch] * inv_std[ch];
                const float shift = s.w[channels + ch] - mean[ch] * scale;
                kernels::batchnorm_affine(xc, y + ch * spatial, c.batch, stride, spatial, scale, shift);
            });
        }

        static void backward(const context& c, const slots& s, const float* x, const float*, const float* dy,
                             float* dx) {
            const float* mean = s.work;
            const float* inv_std = s.work + channels;
            parallel_for(pool_for(c), channels, [&](std::size_t ch) {
                const std::size_t at = ch * spatial;
                const float gamma = s.w[ch];
                kernels::channel_grad_sums sums;
                if (s.dw || c.training)
                    sums = kernels::batchnorm_grad_sums(x + at, dy + at, c.batch, stride, spatial, mean[ch]);
                if (s.dw) {
                    s.dw[ch] += float(sums.dy_xmu * double(inv_std[ch]));
                    s.dw[channels + ch] += float(sums.dy);
                }
                if (!dx) return;
                if (c.training) {
                    kernels::batchnorm_backward_train(x + at, dy + at, dx + at, c.batch, stride, spatial, mean[ch],
                                                      inv_std[ch], gamma, sums);
                } else {
                    kernels::batchnorm_affine(dy + at, dx + at, c.batch, stride, spatial, gamma * inv_std[ch], 0.0f);
                }
            });
        }
    };
};

}  // namespace archetype
