// archetype/layers/activation.hpp — elementwise activations `relu`, `relu6`, `hard_swish`, `sigmoid`, `tanh`,
// `hard_sigmoid`.
//
// Contract: each keeps the input shape, has no parameters and no MACs, and counts its output as
// activations. Values and gradients are PyTorch's, including at the kinks (see kernels/eltwise.hpp):
// relu' = 0 at 0; relu6' = 0 at 0 and 6; hard_swish' = −1/2 at −3 and 3/2 at 3; sigmoid and tanh
// differentiate from their output. All five share one op, `detail::activation_layer<D, Fn>`, where
// Fn is the kernel functor giving f and its gradient. Note `archetype::tanh` is a layer: inside the
// namespace, call the function as std::tanh.
#pragma once

#include <string>

#include "archetype/kernels/eltwise.hpp"
#include "archetype/layers/layer.hpp"

namespace archetype {

namespace detail {

// Below this many values per call, threads cost more than they save.
inline constexpr std::size_t eltwise_parallel_threshold = 1u << 14;

template <class D, class Fn>
struct activation_layer {
    static constexpr shape output(shape in) { return in; }
    static constexpr shape expected_input(shape in) { return in; }
    static constexpr cost cost_of(shape in) { return {0, 0, in.size()}; }

    template <shape In>
    struct op : op_base<D, In> {
        static constexpr std::size_t n = In.size();

        static thread_pool* pool_for(const context& c) {
            return c.batch * n >= eltwise_parallel_threshold ? c.pool : nullptr;
        }
        static void forward(const context& c, const slots&, const float* x, float* y) {
            parallel_for(pool_for(c), c.batch,
                         [&](std::size_t s) { kernels::eltwise_forward<Fn>(x + s * n, y + s * n, n); });
        }
        static void backward(const context& c, const slots&, const float* x, const float* y, const float* dy,
                             float* dx) {
            if (!dx) return;
            parallel_for(pool_for(c), c.batch, [&](std::size_t s) {
                kernels::eltwise_backward<Fn>(x + s * n, y + s * n, dy + s * n, dx + s * n, n);
            });
        }
    };
};

}  // namespace detail

struct relu : detail::activation_layer<relu, kernels::relu_fn> {
    static std::string spelling() { return "archetype::relu"; }
};

struct relu6 : detail::activation_layer<relu6, kernels::relu6_fn> {
    static std::string spelling() { return "archetype::relu6"; }
};

struct hard_swish : detail::activation_layer<hard_swish, kernels::hard_swish_fn> {
    static std::string spelling() { return "archetype::hard_swish"; }
};

struct sigmoid : detail::activation_layer<sigmoid, kernels::sigmoid_fn> {
    static std::string spelling() { return "archetype::sigmoid"; }
};

struct tanh : detail::activation_layer<tanh, kernels::tanh_fn> {
    static std::string spelling() { return "archetype::tanh"; }
};

struct hard_sigmoid : detail::activation_layer<hard_sigmoid, kernels::hard_sigmoid_fn> {
    static std::string spelling() { return "archetype::hard_sigmoid"; }
};

}  // namespace archetype
