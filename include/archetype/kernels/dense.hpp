// archetype/kernels/dense.hpp — fully connected kernels on raw row-major pointers.
//
// Contract: x [n][in], w [out][in] (PyTorch layout), b [out] or null, y [n][out].
//   dense_forward:          y = x wᵀ + b                       (overwrites y)
//   dense_backward_data:    dx = dy w                          (overwrites dx)
//   dense_backward_params:  dw += dyᵀ x, db += Σ_n dy         (accumulates; db may be null)
// All three are one gemm (kernels/gemm.hpp): every output element is a chain of single-rounded fmas in
// a fixed order (over `in`, `out`, or the samples in order), bit-identical to the scalar twin, so a
// sample's result depends neither on threading nor on how the batch is split into calls.
#pragma once

#include <cstddef>

#include "archetype/kernels/gemm.hpp"

namespace archetype::kernels {

inline void dense_forward(const float* x, const float* w, const float* b, float* y, std::size_t n,
                          std::size_t in, std::size_t out) {
    // y = x wᵀ: op(B) = wᵀ, read as w with trans_b
    gemm({n, out, in, x, in, false, w, in, true, y, out, false});
    if (b)
        for (std::size_t s = 0; s < n; ++s)
            for (std::size_t o = 0; o < out; ++o) y[s * out + o] += b[o];
}

inline void dense_backward_data(const float* dy, const float* w, float* dx, std::size_t n, std::size_t in,
                                std::size_t out) {
    gemm({n, in, out, dy, out, false, w, in, false, dx, in, false});  // dx = dy w
}

inline void dense_backward_params(const float* x, const float* dy, float* dw, float* db, std::size_t n,
                                  std::size_t in, std::size_t out) {
    gemm({out, in, n, dy, out, true, x, in, false, dw, in, true});  // dw += dyᵀ x, chain over samples in order
    if (db)
        for (std::size_t s = 0; s < n; ++s)
            for (std::size_t o = 0; o < out; ++o) db[o] += dy[s * out + o];
}

}  // namespace archetype::kernels
