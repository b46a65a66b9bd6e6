// archetype/kernels/conv2d_partial_products.hpp — lane-wise partial products A·Bᵀ for the convolution
// weight gradients (conv2d.hpp, conv2d_weight_grad.hpp).
//
// Contract (namespace conv_detail): part holds one vector per (m, n); each call adds (or, Fresh, stores)
// the lane-wise products Σ_k A[m][k]·B_n[k] over k in vector steps, so every lane of part[m][n] carries
// its own fma chain in order over k; the caller ends with one horizontal sum per (m, n). A is [·][L]
// row-major, L a multiple of the vector width; B's rows are found by
//   partial_products_at<L, Rn, Fresh>(m_begin, m_end, a, row, part)      row(n): a callable giving row n
//   partial_products<L, Rn, Fresh>(m_begin, m_end, a, b, part)           B [Rn][L] back to back
//   implicit_partial_products<BR, L, Rn, Fresh>(m_begin, m_end, a, xp, part)
//                                                                        rows read in place from xp through
//                                                                        a row locator BR (conv2d_gemm_tile.hpp)
// Rows [m_begin, m_end) only: a row's result depends on nothing else, so callers may split rows.
#pragma once

#include <cstddef>
#include <utility>

#include "archetype/kernels/conv2d_vector.hpp"
#include "archetype/kernels/simd.hpp"

ARCHETYPE_KERNELS_BEGIN

namespace conv_detail {

// part[m][n] (one vector each, rows of Rn vectors) += lane-wise Σ_k A[m][k]·B_n[k] for an MB × NB tile
// (= instead of += when Fresh); A [·][L], B_n = row(n) (L floats), L % lanes == 0.
template <int L, int Rn, int MB, int NB, bool Fresh, class Row>
inline void partial_tile(const float* __restrict a, const Row& row, float* __restrict part, int m0, int n0) {
    const float* b[NB];
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) b[j] = row(n0 + j);
    vec acc[MB][NB];
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NB; ++j)
            acc[i][j] = Fresh ? vec(0.0f) : vec::load_unaligned(part + (std::size_t(m0 + i) * Rn + n0 + j) * lanes);
    for (int k = 0; k < L; k += lanes) {
        vec av[MB], bv[NB];
#pragma GCC unroll 8
        for (int i = 0; i < MB; ++i) av[i] = vec::load_unaligned(a + std::size_t(m0 + i) * L + k);
#pragma GCC unroll 8
        for (int j = 0; j < NB; ++j) bv[j] = vec::load_unaligned(b[j] + k);
#pragma GCC unroll 8
        for (int i = 0; i < MB; ++i)
#pragma GCC unroll 8
            for (int j = 0; j < NB; ++j) acc[i][j] = madd(av[i], bv[j], acc[i][j]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NB; ++j) acc[i][j].store_unaligned(part + (std::size_t(m0 + i) * Rn + n0 + j) * lanes);
}

// Rows [m_begin, m_end) of part += A·Bᵀ lane-wise (see partial_tile; = when Fresh), B's Rn rows at row(n).
template <int L, int Rn, bool Fresh, class Row>
void partial_products_at(int m_begin, int m_end, const float* a, const Row& row, float* part) {
    constexpr int MB = 4, NB = lanes >= 16 ? 4 : 2, Nf = Rn / NB * NB;
    auto row_block = [&]<int mb>(int m0) {
        for (int n0 = 0; n0 < Nf; n0 += NB) partial_tile<L, Rn, mb, NB, Fresh>(a, row, part, m0, n0);
        if constexpr (Rn % NB != 0) partial_tile<L, Rn, mb, Rn % NB, Fresh>(a, row, part, m0, Nf);
    };
    int m0 = m_begin;
    for (; m0 + MB <= m_end; m0 += MB) row_block.template operator()<MB>(m0);
    [&]<int... R>(std::integer_sequence<int, R...>) {
        ((m_end - m0 == R + 1 ? row_block.template operator()<R + 1>(m0) : void()), ...);
    }(std::make_integer_sequence<int, MB - 1>{});
}

// The same with B's rows back to back (B [Rn][L]).
template <int L, int Rn, bool Fresh = false>
void partial_products(int m_begin, int m_end, const float* a, const float* b, float* part) {
    partial_products_at<L, Rn, Fresh>(m_begin, m_end, a, [b](int n) { return b + std::size_t(n) * L; }, part);
}

// Rows [m_begin, m_end) of part (=/+=) A·Bᵀ lane-wise, B's Rn rows read in place through BR.
template <class BR, int L, int Rn, bool Fresh>
void implicit_partial_products(int m_begin, int m_end, const float* a, const float* xp, float* part) {
    partial_products_at<L, Rn, Fresh>(
        m_begin, m_end, a,
        [xp](int n) {
            return xp + std::size_t(n / BR::inner) * BR::outer_stride + BR::offset[std::size_t(n % BR::inner)];
        },
        part);
}

}  // namespace conv_detail

ARCHETYPE_KERNELS_END
