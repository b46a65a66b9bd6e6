// archetype/layers/gelu.hpp — `gelu`: the Gaussian error linear unit, PyTorch's nn.GELU() (exact form).
//
// Contract: y = x·Φ(x) = x/2·(1 + erf(x/√2)), dx = dy·(Φ(x) + x·φ(x)) with φ the standard normal
// density — nn.GELU(approximate='none'), the activation of BERT's and ViT's MLPs. Keeps the shape, no
// parameters, no MACs, output size activations: the op is detail::activation_layer's (layers/activation.hpp)
// with the functor gelu_fn below (the kernels/eltwise.hpp functor protocol).
#pragma once

#include <cmath>
#include <string>

#include "archetype/layers/activation.hpp"

namespace archetype {

namespace detail {
struct gelu_fn {
    static float f(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }
    static float grad(float x, float, float dy) {
        const float cdf = 0.5f * (1.0f + std::erf(x * 0.70710678118654752f));
        const float pdf = 0.39894228040143268f * std::exp(-0.5f * x * x);
        return dy * (cdf + x * pdf);
    }
};
}  // namespace detail

struct gelu : detail::activation_layer<gelu, detail::gelu_fn> {
    static std::string spelling() { return "archetype::gelu"; }
};

}  // namespace archetype
