// archetype/kernels/dense.hpp — fully connected kernels on raw row-major pointers.
//
// Contract: x [n][in], w [out][in] (PyTorch layout), b [out] or null, y [n][out].
//   dense_forward:          y = x wᵀ + b                       (overwrites y)
//   dense_backward_data:    dx = dy w                          (overwrites dx)
//   dense_backward_params:  dw += dyᵀ x, db += Σ_n dy         (accumulates; db may be null)
//   dense_backward_params_rows: the same for output rows [o0, o1) only
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

// Output rows [o0, o1) of dense_backward_params only (for splitting between threads: same bits).
inline void dense_backward_params_rows(const float* x, const float* dy, float* dw, float* db, std::size_t n,
                                       std::size_t in, std::size_t out, std::size_t o0, std::size_t o1) {
    if (o1 <= o0) return;
    // dw[o0:o1] += dyᵀ[o0:o1] x, chain over samples in order
    gemm({o1 - o0, in, n, dy + o0, out, true, x, in, false, dw + o0 * in, in, true});
    if (db)
        for (std::size_t s = 0; s < n; ++s)
            for (std::size_t o = o0; o < o1; ++o) db[o] += dy[s * out + o];
}

inline void dense_backward_params(const float* x, const float* dy, float* dw, float* db, std::size_t n,
                                  std::size_t in, std::size_t out) {
    dense_backward_params_rows(x, dy, dw, db, n, in, out, 0, out);
}

}  // namespace archetype::kernels
