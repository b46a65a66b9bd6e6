// archetype/layers/dense.hpp — fully connected layer `dense<Out, Bias = true>`.
//
// Contract: takes a flat input shape{in, 1, 1} (put `flatten` before it otherwise; a non-flat input is
// a compile-time shape mismatch) and gives shape{Out, 1, 1}. Parameters: weight [Out][in], then bias
// [Out]. Initialisation as PyTorch's nn.Linear: both U(-1/√in, 1/√in).
// Threads: the batch (forward, input gradient) or the output rows (parameter gradients) is cut into
// one block per thread, each one gemm (in backward, thread t takes block t of both, one parallel_for);
// results are the same bits for any thread count.
#pragma once

#include <algorithm>
#include <cmath>

#include "archetype/kernels/dense.hpp"
#include "archetype/layers/layer.hpp"

namespace archetype {

template <int Out, bool Bias = true>
struct dense {
    static_assert(Out > 0, "archetype::dense<Out>: Out must be positive");

    static constexpr shape output(shape) { return {Out, 1, 1}; }
    static constexpr shape expected_input(shape in) { return flattened(in); }
    static constexpr cost cost_of(shape in) {
        return {in.size() * Out + (Bias ? Out : 0), in.size() * Out, std::size_t(Out)};
    }
    static std::string spelling() { return "archetype::dense<" + spell_args(Out, Bias) + ">"; }

    template <shape In>
    struct op : op_base<dense, In> {
        static constexpr std::size_t fan_in = In.size();
        static constexpr std::size_t weight_count = fan_in * Out;  // weights first, then the bias
        static constexpr std::size_t param_count = weight_count + (Bias ? Out : 0);

        static void init(float* w, float*, rng& g) {
            const float bound = 1.0f / std::sqrt(float(fan_in));
            for (std::size_t i = 0; i < param_count; ++i) w[i] = g.uniform(-bound, bound);
        }
        // The batch is cut into one contiguous block per thread; each block is one gemm. Every output
        // element is the same fma chain however the batch is cut (kernels/dense.hpp), so results do not
        // depend on the thread count. The parameter gradients are cut by output rows instead.
        static std::size_t parts(const context& c, std::size_t n) {
            return c.pool ? std::min<std::size_t>(c.pool->threads(), n) : 1;
        }
        template <class F>
        static void blocks(const context& c, std::size_t n, F&& f) {
            const std::size_t p = parts(c, n);
            parallel_for(p > 1 ? c.pool : nullptr, p, [&](std::size_t t) { f(n * t / p, n * (t + 1) / p); });
        }
        static void forward(const context& c, const slots& s, const float* x, float* y) {
            blocks(c, c.batch, [&](std::size_t b0, std::size_t b1) {
                kernels::dense_forward(x + b0 * fan_in, s.w, Bias ? s.w + fan_in * Out : nullptr, y + b0 * Out,
                                       b1 - b0, fan_in, Out);
            });
        }
        static void backward(const context& c, const slots& s, const float* x, const float*, const float* dy,
                             float* dx) {
            auto data = [&](std::size_t b0, std::size_t b1) {
                kernels::dense_backward_data(dy + b0 * Out, s.w, dx + b0 * fan_in, b1 - b0, fan_in, Out);
            };
            auto params = [&](std::size_t o0, std::size_t o1) {
                kernels::dense_backward_params_rows(x, dy, s.dw, Bias ? s.dw + weight_count : nullptr, c.batch, fan_in,
                                                    Out, o0, o1);
            };
            const std::size_t pd = parts(c, c.batch), pw = parts(c, Out);
            if (dx && s.dw && pd == pw && pd > 1) {
                // One parallel_for for both: block t of the batch and block t of the output rows.
                parallel_for(c.pool, pd, [&](std::size_t t) {
                    data(c.batch * t / pd, c.batch * (t + 1) / pd);
                    params(std::size_t(Out) * t / pw, std::size_t(Out) * (t + 1) / pw);
                });
                return;
            }
            if (dx) blocks(c, c.batch, data);
            if (s.dw) blocks(c, Out, params);
        }
    };
};

}  // namespace archetype
