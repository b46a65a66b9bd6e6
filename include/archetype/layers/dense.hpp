// archetype/layers/dense.hpp — fully connected layer `dense<Out, Bias = true>`.
//
// Contract: takes a flat input shape{in, 1, 1} (put `flatten` before it otherwise; a non-flat input is
// a compile-time shape mismatch) and gives shape{Out, 1, 1}. Parameters: weight [Out][in], then bias
// [Out]. Initialisation as PyTorch's nn.Linear: both U(-1/√in, 1/√in).
#pragma once

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
        static void forward(const context& c, const slots& s, const float* x, float* y) {
            parallel_for(c.pool, c.batch, [&](std::size_t n) {
                kernels::dense_forward(x + n * fan_in, s.w, Bias ? s.w + fan_in * Out : nullptr, y + n * Out,
                                       1, fan_in, Out);
            });
        }
        static void backward(const context& c, const slots& s, const float* x, const float*, const float* dy,
                             float* dx) {
            if (dx) {
                parallel_for(c.pool, c.batch, [&](std::size_t n) {
                    kernels::dense_backward_data(dy + n * Out, s.w, dx + n * fan_in, 1, fan_in, Out);
                });
            }
            if (s.dw)
                kernels::dense_backward_params(x, dy, s.dw, Bias ? s.dw + fan_in * Out : nullptr, c.batch,
                                               fan_in, Out);
        }
    };
};

}  // namespace archetype
