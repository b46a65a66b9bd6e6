// archetype/layers/pool.hpp — `max_pool<K, Stride = K, Pad = 0>`, `avg_pool<K, Stride = K, Pad = 0,
// CountIncludePad = true>` and `global_avg_pool`.
//
// Contract: PyTorch semantics in floor mode (nn.MaxPool2d, nn.AvgPool2d, adaptive average pooling to
// 1×1): output {C, (H + 2Pad − K)/Stride + 1, same for W}; global_avg_pool gives {C, 1, 1}. Max pooling
// pads with −∞ and sends the gradient to the first maximal element of each window (row-major); average
// pooling divides by K·K when CountIncludePad, else by the number of input elements in the window. As
// in PyTorch, Pad ≤ K/2. expected_input raises H, W to the smallest size that gives one output. No
// parameters and no MACs; activations = output size. Batch-parallel, nothing summed over the batch.
#pragma once

#include <algorithm>

#include "archetype/kernels/pool.hpp"
#include "archetype/layers/layer.hpp"

namespace archetype {

namespace detail {

// Descriptor part shared by max_pool and avg_pool; D provides spelling() and op<In>.
template <int K, int Stride, int Pad>
struct window_pool {
    static_assert(K > 0 && Stride > 0 && Pad >= 0,
                  "archetype: pooling: K and Stride must be positive and Pad non-negative");
    static_assert(2 * Pad <= K, "archetype: pooling: Pad must be at most K/2 (as PyTorch requires)");

    static constexpr kernels::pool2d_geometry geometry(shape in) { return {in.c, in.h, in.w, K, Stride, Pad}; }
    static constexpr shape output(shape in) {
        const auto g = geometry(in);
        return {in.c, g.ho(), g.wo()};
    }
    static constexpr shape expected_input(shape in) {
        const int min_hw = std::max(1, K - 2 * Pad);
        return {std::max(1, in.c), std::max(in.h, min_hw), std::max(in.w, min_hw)};
    }
    static constexpr cost cost_of(shape in) { return {0, 0, output(in).size()}; }
};

template <class D, shape In>
struct pool_op : op_base<D, In> {
    static constexpr kernels::pool2d_geometry G = D::geometry(In);
    static_assert(G.valid(), "archetype: pooling: the input is smaller than the window; compose layers in a "
                             "sequential to have the shapes checked and named");
    static constexpr std::size_t in_size = In.size(), out_size = D::output(In).size();
};

}  // namespace detail

template <int K, int Stride = K, int Pad = 0>
struct max_pool : detail::window_pool<K, Stride, Pad> {
    static std::string spelling() { return "archetype::max_pool<" + spell_args(K, Stride, Pad) + ">"; }

    // The workspace keeps each window's argmax from forward for backward.
    template <shape In>
    struct op : detail::pool_op<max_pool, In> {
        using base = detail::pool_op<max_pool, In>;
        static constexpr std::size_t work_size(std::size_t batch) { return batch * base::out_size; }
        static void forward(const context& c, const slots& s, const float* x, float* y) {
            parallel_for(c.pool, c.batch, [&](std::size_t n) {
                kernels::max_pool_forward<base::G>(x + n * base::in_size, y + n * base::out_size,
                                                   s.work + n * base::out_size);
            });
        }
        static void backward(const context& c, const slots& s, const float*, const float*, const float* dy,
                             float* dx) {
            if (!dx) return;
            parallel_for(c.pool, c.batch, [&](std::size_t n) {
                kernels::max_pool_backward<base::G>(s.work + n * base::out_size, dy + n * base::out_size,
                                                    dx + n * base::in_size);
            });
        }
    };
};

template <int K, int Stride = K, int Pad = 0, bool CountIncludePad = true>
struct avg_pool : detail::window_pool<K, Stride, Pad> {
    static std::string spelling() {
        return "archetype::avg_pool<" + spell_args(K, Stride, Pad, CountIncludePad) + ">";
    }

    template <shape In>
    struct op : detail::pool_op<avg_pool, In> {
        using base = detail::pool_op<avg_pool, In>;
        static void forward(const context& c, const slots&, const float* x, float* y) {
            parallel_for(c.pool, c.batch, [&](std::size_t n) {
                kernels::avg_pool_forward<base::G, CountIncludePad>(x + n * base::in_size, y + n * base::out_size);
            });
        }
        static void backward(const context& c, const slots&, const float*, const float*, const float* dy,
                             float* dx) {
            if (!dx) return;
            parallel_for(c.pool, c.batch, [&](std::size_t n) {
                kernels::avg_pool_backward<base::G, CountIncludePad>(dy + n * base::out_size, dx + n * base::in_size);
            });
        }
    };
};

struct global_avg_pool {
    static constexpr shape output(shape in) { return {in.c, 1, 1}; }
    static constexpr shape expected_input(shape in) { return in; }
    static constexpr cost cost_of(shape in) { return {0, 0, std::size_t(in.c)}; }
    static std::string spelling() { return "archetype::global_avg_pool"; }

    template <shape In>
    struct op : op_base<global_avg_pool, In> {
        static constexpr std::size_t hw = std::size_t(In.h) * In.w;
        static void forward(const context& c, const slots&, const float* x, float* y) {
            parallel_for(c.pool, c.batch, [&](std::size_t n) {
                kernels::global_avg_pool_forward(x + n * In.size(), y + n * In.c, In.c, hw);
            });
        }
        static void backward(const context& c, const slots&, const float*, const float*, const float* dy,
                             float* dx) {
            if (!dx) return;
            parallel_for(c.pool, c.batch, [&](std::size_t n) {
                kernels::global_avg_pool_backward(dy + n * In.c, dx + n * In.size(), In.c, hw);
            });
        }
    };
};

}  // namespace archetype
