// archetype/kernels/dense.hpp — fully connected kernels on raw row-major pointers.
//
// Contract: x [n][in], w [out][in] (PyTorch layout), b [out] or null, y [n][out].
//   dense_forward:          y = x wᵀ + b                       (overwrites y)
//   dense_backward_data:    dx = dy w                          (overwrites dx)
//   dense_backward_params:  dw += dyᵀ x, db += Σ_n dy         (accumulates; db may be null)
// Sums over the batch run in sample order, so results do not depend on threading.
#pragma once

#include <cstddef>

namespace archetype::kernels {

inline void dense_forward(const float* x, const float* w, const float* b, float* y, std::size_t n,
                          std::size_t in, std::size_t out) {
    for (std::size_t s = 0; s < n; ++s) {
        const float* xs = x + s * in;
        float* ys = y + s * out;
        for (std::size_t o = 0; o < out; ++o) {
            const float* wo = w + o * in;
            float acc = 0.0f;
            for (std::size_t i = 0; i < in; ++i) acc += wo[i] * xs[i];
            ys[o] = acc + (b ? b[o] : 0.0f);
        }
    }
}

inline void dense_backward_data(const float* dy, const float* w, float* dx, std::size_t n, std::size_t in,
                                std::size_t out) {
    for (std::size_t s = 0; s < n; ++s) {
        float* dxs = dx + s * in;
        const float* dys = dy + s * out;
        for (std::size_t i = 0; i < in; ++i) dxs[i] = 0.0f;
        for (std::size_t o = 0; o < out; ++o) {
            const float g = dys[o];
            const float* wo = w + o * in;
            for (std::size_t i = 0; i < in; ++i) dxs[i] += g * wo[i];
        }
    }
}

inline void dense_backward_params(const float* x, const float* dy, float* dw, float* db, std::size_t n,
                                  std::size_t in, std::size_t out) {
    for (std::size_t s = 0; s < n; ++s) {
        const float* xs = x + s * in;
        const float* dys = dy + s * out;
        for (std::size_t o = 0; o < out; ++o) {
            const float g = dys[o];
            float* dwo = dw + o * in;
            for (std::size_t i = 0; i < in; ++i) dwo[i] += g * xs[i];
            if (db) db[o] += g;
        }
    }
}

}  // namespace archetype::kernels
