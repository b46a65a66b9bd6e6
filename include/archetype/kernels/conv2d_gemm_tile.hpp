// archetype/kernels/conv2d_gemm_tile.hpp — the register-tiled GEMM with compile-time sizes that the
// convolutions (conv2d.hpp) run on their unrolled inputs.
//
// Contract (namespace conv_detail): C[m][n] = start + Σ_k A[m·SM + k·SK] · B(k)[n], where start is C itself
// (Acc) or a per-row bias (or 0), A read through constant strides, row k of B located by a row-locator type
// BR (dense_rows: plain row-major B; conv2d.hpp's tap_rows: rows of the implicit GEMM read in place).
//   gemm<Kd, BR, N, LDC, SM, SK, Acc, M>(m_begin, m_end, a, b, c, bias)   rows [m_begin, m_end) of C
//   gemm_tiling<N, M>                                                       the register tile it uses
//   gemm_tile<...>                                                          one tile (the micro-kernel)
// Every element of C is one fma chain over k in order from its start, so the result does not depend on
// the tile shape or on how callers split the rows.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#include "archetype/kernels/conv2d_vector.hpp"
#include "archetype/kernels/simd.hpp"

ARCHETYPE_KERNELS_BEGIN

namespace conv_detail {

// How gemm finds row k of B: rows come in blocks of `inner` (k = ko·inner + t), row k starting at
// ko·outer_stride + offset[t] floats from B. Plain row-major B[Kd][LD] is one row per block.
template <std::size_t LD>
struct dense_rows {
    static constexpr int inner = 1;
    static constexpr std::size_t outer_stride = LD;
    static constexpr int offset[1] = {0};
};

// One MB × NV·lanes tile at (m0, n0) of C[m][n] = start + Σ_k A[m·SM + k·SK] · B(k)[n] (B(k): row k, see
// dense_rows), C rows LDC floats apart, where start is C itself when Acc, else bias[m] (0 when bias is
// null). The tile's last vector sits Shift columns to the left (a tail that ends at the last column,
// overlapping the vector before it). All bounds are constants, so the accumulators live in registers.
template <int Kd, class BR, int LDC, int SM, int SK, bool Acc, int MB, int NV, int Shift>
inline void gemm_tile(const float* __restrict a, const float* __restrict b, float* __restrict c,
                      const float* __restrict bias, int m0, int n0) {
    a += std::size_t(m0) * SM;  // A of this row block
    static_assert(Kd % BR::inner == 0);
    constexpr auto col = [](int j) { return j * lanes - (j == NV - 1 ? Shift : 0); };
    vec acc[MB][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j)
            acc[i][j] = Acc ? vec::load_unaligned(c + std::size_t(m0 + i) * LDC + n0 + col(j))
                            : vec(bias ? bias[m0 + i] : 0.0f);
    for (int ko = 0; ko < Kd / BR::inner; ++ko) {
        const float* bo = b + std::size_t(ko) * BR::outer_stride + n0;
        for (int t = 0; t < BR::inner; ++t) {
            const std::size_t k = std::size_t(ko) * BR::inner + t;
            const float* br = bo + BR::offset[t];
            vec bv[NV];
#pragma GCC unroll 8
            for (int j = 0; j < NV; ++j) bv[j] = vec::load_unaligned(br + col(j));
#pragma GCC unroll 8
            for (int i = 0; i < MB; ++i) {
                const vec av(a[std::size_t(i) * SM + k * SK]);
#pragma GCC unroll 8
                for (int j = 0; j < NV; ++j) acc[i][j] = madd(av, bv[j], acc[i][j]);
            }
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[i][j].store_unaligned(c + std::size_t(m0 + i) * LDC + n0 + col(j));
}

// Register tile of gemm for M rows (0: not known) and N columns: MB rows × NV vectors of accumulators.
// AVX-512 (32 registers): 6×4 or 8×3 (24 accumulators, room for the B vectors), whichever covers M × N
// at the lower estimated cost: per tile and k, its FMAs (at least 8, the FMAs in flight that hide the
// latency), its A broadcasts, and its B loads weighted ×3 (B comes from L2, A from L1). AVX2 (16
// registers): 3 rows × 3–4 vectors, or 4 rows × 1–2.
template <int N, int M = 0>
struct gemm_tiling {
    static constexpr int Nv = (N + lanes - 1) / lanes;  // vectors per row
    static constexpr int cost(int mb, int nv) {
        auto tile = [](int r, int v) { return std::max(r * v, 8) + r + 3 * v; };
        auto columns = [&](int r) { return Nv / nv * tile(r, nv) + (Nv % nv ? tile(r, Nv % nv) : 0); };
        return M / mb * columns(mb) + (M % mb ? columns(M % mb) : 0);
    }
    static constexpr bool wide = lanes < 16 || M == 0 || cost(6, 4) <= cost(8, 3);
    static constexpr int NV = std::min(Nv, wide ? 4 : 3);
    static constexpr int MB = lanes >= 16 ? (NV == 4 ? 6 : 8) : (NV >= 3 ? 3 : 4);
};

// Rows [m_begin, m_end) of C[m][n], n < N, = start + A·B (see gemm_tile), A read through strides (SM, SK),
// B rows as BR says, C rows LDC apart; M (0: not known) picks the register tile. N ≥ lanes; when N is
// not a multiple of the vector width the last vector overlaps its neighbour (it recomputes the same
// values), which needs !Acc. Column tiles outside, row blocks inside: a tile's columns of B are read
// from cache by every row block. Each element of C is one fma chain over k in order from its start.
template <int Kd, class BR, int N, int LDC, int SM, int SK, bool Acc, int M = 0>
void gemm(int m_begin, int m_end, const float* a, const float* b, float* c, const float* bias) {
    static_assert(N >= lanes && (N % lanes == 0 || !Acc));
    using T = gemm_tiling<N, M>;
    constexpr int MB = T::MB, NV = T::NV, NB = NV * lanes, tiles = N / NB, Nf = tiles * NB, rem = N - Nf;
    constexpr int NVt = (rem + lanes - 1) / lanes, shift = NVt * lanes - rem;  // the tail tile
    auto rows = [&]<int nv, int sh>(int n0) {
        auto block = [&]<int mb>(int m0) { gemm_tile<Kd, BR, LDC, SM, SK, Acc, mb, nv, sh>(a, b, c, bias, m0, n0); };
        int m0 = m_begin;
        for (; m0 + MB <= m_end; m0 += MB) block.template operator()<MB>(m0);
        [&]<int... R>(std::integer_sequence<int, R...>) {  // the last m_end − m0 < MB rows
            ((m_end - m0 == R + 1 ? block.template operator()<R + 1>(m0) : void()), ...);
        }(std::make_integer_sequence<int, MB - 1>{});
    };
    for (int t = 0; t < tiles; ++t) rows.template operator()<NV, 0>(t * NB);
    if constexpr (rem > 0) rows.template operator()<NVt, shift>(Nf);
}

}  // namespace conv_detail

ARCHETYPE_KERNELS_END
