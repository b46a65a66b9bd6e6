// archetype/kernels/eltwise.hpp — elementwise activation kernels on raw pointers.
//
// Contract: an activation is a small functor type F with
//     static float f(float x);                          // y = f(x)
//     static float grad(float x, float y, float dy);   // dx = dy · f'(x), from x or from y = f(x)
// eltwise_forward<F>(x, y, n) writes y[i] = F::f(x[i]) and eltwise_backward<F>(x, y, dy, dx, n) writes
// dx[i] = F::grad(x[i], y[i], dy[i]) (both overwrite; the loops are plain and vectorisable).
// Values and derivatives follow PyTorch exactly, including at the kinks:
//   relu_fn        max(x, 0);            grad dy where y > 0, else 0        (threshold_backward on y)
//   relu6_fn       min(max(x, 0), 6);    grad dy for 0 < x < 6, else 0      (hardtanh_backward)
//   hard_swish_fn  x·min(max(x+3,0),6)/6; grad 0 for x < −3, dy·(x/3 + 1/2) for −3 ≤ x ≤ 3, dy for x > 3
//                  (hardswish_backward, scalar/CUDA path; PyTorch's AVX path gives dy at exactly x = 3)
//   sigmoid_fn     1/(1+e^−x);           grad dy·y·(1 − y)
//   tanh_fn        tanh x;               grad dy·(1 − y²)
//   hard_sigmoid_fn min(max(x+3,0),6)/6; grad dy/6 for −3 < x < 3, else 0   (hardsigmoid_backward)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace archetype::kernels {

struct relu_fn {
    static float f(float x) { return x > 0.0f ? x : 0.0f; }
    static float grad(float, float y, float dy) { return y > 0.0f ? dy : 0.0f; }
};

struct relu6_fn {
    static float f(float x) { return std::min(std::max(x, 0.0f), 6.0f); }
    static float grad(float x, float, float dy) { return (x <= 0.0f || x >= 6.0f) ? 0.0f : dy; }
};

struct hard_swish_fn {
    static float f(float x) { return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
    static float grad(float x, float, float dy) {
        return x < -3.0f ? 0.0f : (x <= 3.0f ? dy * (x / 3.0f + 0.5f) : dy);
    }
};

struct sigmoid_fn {
    static float f(float x) { return 1.0f / (1.0f + std::exp(-x)); }
    static float grad(float, float y, float dy) { return dy * (1.0f - y) * y; }
};

struct tanh_fn {
    static float f(float x) { return std::tanh(x); }
    static float grad(float, float y, float dy) { return dy * (1.0f - y * y); }
};

struct hard_sigmoid_fn {
    static float f(float x) { return std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
    static float grad(float x, float, float dy) { return (x > -3.0f && x < 3.0f) ? dy / 6.0f : 0.0f; }
};

template <class F>
void eltwise_forward(const float* x, float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = F::f(x[i]);
}

template <class F>
void eltwise_backward(const float* x, const float* y, const float* dy, float* dx, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) dx[i] = F::grad(x[i], y[i], dy[i]);
}

}  // namespace archetype::kernels
