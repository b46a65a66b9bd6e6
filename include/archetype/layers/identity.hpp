// archetype/layers/identity.hpp — `identity` (y = x), `flatten` (same values, flat shape) and
// `zero` (y = 0, the "none" operation of cell spaces).
//
// Contract: none has parameters or MACs; identity and flatten copy (ops never alias their input and
// output). `flatten` turns shape{c, h, w} into shape{c·h·w, 1, 1} without reordering memory (NCHW).
#pragma once

#include <algorithm>

#include "archetype/layers/layer.hpp"

namespace archetype {

namespace detail {
template <class D>
struct copy_layer {
    static constexpr shape expected_input(shape in) { return in; }
    static constexpr cost cost_of(shape in) { return {0, 0, D::output(in).size()}; }

    template <shape In>
    struct op : op_base<D, In> {
        static void forward(const context& c, const slots&, const float* x, float* y) {
            std::copy(x, x + c.batch * In.size(), y);
        }
        static void backward(const context& c, const slots&, const float*, const float*, const float* dy,
                             float* dx) {
            if (dx) std::copy(dy, dy + c.batch * In.size(), dx);
        }
    };
};
}  // namespace detail

struct identity : detail::copy_layer<identity> {
    static constexpr shape output(shape in) { return in; }
    static std::string spelling() { return "archetype::identity"; }
};

struct flatten : detail::copy_layer<flatten> {
    static constexpr shape output(shape in) { return flattened(in); }
    static std::string spelling() { return "archetype::flatten"; }
};

// Outputs zeros of the input's shape; its input gradient is zero.
struct zero {
    static constexpr shape output(shape in) { return in; }
    static constexpr shape expected_input(shape in) { return in; }
    static constexpr cost cost_of(shape in) { return {0, 0, in.size()}; }
    static std::string spelling() { return "archetype::zero"; }

    template <shape In>
    struct op : op_base<zero, In> {
        static void forward(const context& c, const slots&, const float*, float* y) {
            std::fill(y, y + c.batch * In.size(), 0.0f);
        }
        static void backward(const context& c, const slots&, const float*, const float*, const float*, float* dx) {
            if (dx) std::fill(dx, dx + c.batch * In.size(), 0.0f);
        }
    };
};

}  // namespace archetype
