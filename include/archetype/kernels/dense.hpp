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
// One sample (n == 1, the latency case) skips the gemm's packing of w: dense_gemv computes the same
// chains (y[o] = fma over i = 0, 1, ... of x[i]·w[o][i], from 0) straight from w, eight outputs per
// vector, transposing 8×8 tiles of w in registers, several 8-output blocks interleaved so the chains'
// latencies overlap; rows past `out` in the last block repeat the last row and are not stored.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "archetype/kernels/gemm.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

ARCHETYPE_KERNELS_BEGIN

// The scalar twin of dense_gemv: y[o] = Σ_i x[i]·w[o][i] as one fma chain in index order.
inline void dense_gemv_reference(const float* x, const float* w, float* y, std::size_t in, std::size_t out) {
    for (std::size_t o = 0; o < out; ++o) {
        float acc = 0.0f;
        for (std::size_t i = 0; i < in; ++i) acc = std::fma(x[i], w[o * in + i], acc);
        y[o] = acc;
    }
}

#if defined(__AVX2__) && defined(__FMA__)
namespace dense_detail {

// r[j] becomes column j of the 8×8 tile whose rows were r[0..7].
inline void transpose8(__m256* r) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20), r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20), r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31), r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31), r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// B blocks of 8 outputs starting at row o0 (rows ≥ out read row out − 1 and are dropped).
template <int B>
inline void gemv_blocks(const float* x, const float* w, float* y, std::size_t in, std::size_t out, std::size_t o0) {
    const float* rows[B][8];
    for (int b = 0; b < B; ++b)
        for (int i = 0; i < 8; ++i) rows[b][i] = w + std::min(o0 + std::size_t(8 * b + i), out - 1) * in;
    __m256 acc[B];
    for (int b = 0; b < B; ++b) acc[b] = _mm256_setzero_ps();
    const std::size_t in8 = in / 8 * 8;
    for (std::size_t p = 0; p < in8; p += 8) {
        __m256 xs[8];
        for (int j = 0; j < 8; ++j) xs[j] = _mm256_broadcast_ss(x + p + j);
        for (int b = 0; b < B; ++b) {
            __m256 r[8];
            for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows[b][i] + p);
            transpose8(r);
            for (int j = 0; j < 8; ++j) acc[b] = _mm256_fmadd_ps(xs[j], r[j], acc[b]);
        }
    }
    for (std::size_t p = in8; p < in; ++p) {
        const __m256 xp = _mm256_broadcast_ss(x + p);
        for (int b = 0; b < B; ++b) {
            const __m256 col = _mm256_setr_ps(rows[b][0][p], rows[b][1][p], rows[b][2][p], rows[b][3][p],
                                              rows[b][4][p], rows[b][5][p], rows[b][6][p], rows[b][7][p]);
            acc[b] = _mm256_fmadd_ps(xp, col, acc[b]);
        }
    }
    for (int b = 0; b < B; ++b) {
        const std::size_t at = o0 + std::size_t(8 * b);
        if (at >= out) break;
        if (at + 8 <= out) {
            _mm256_storeu_ps(y + at, acc[b]);
        } else {
            alignas(32) float t[8];
            _mm256_store_ps(t, acc[b]);
            std::copy(t, t + (out - at), y + at);
        }
    }
}

}  // namespace dense_detail
#endif

// Which path dense_forward takes for one sample; benchmarks print it.
inline const char* dense_gemv_path() {
#if defined(__AVX2__) && defined(__FMA__)
    return "gemv on w in place (8x8 register transposes, no packing)";
#else
    return "scalar fma chains";
#endif
}

// y[o] = Σ_i x[i]·w[o][i] for one sample, the same fma chains as gemm (bit-identical to the reference).
inline void dense_gemv(const float* x, const float* w, float* y, std::size_t in, std::size_t out) {
#if defined(__AVX2__) && defined(__FMA__)
    // Four interleaved blocks need 4 accumulators + 8 broadcasts + 8 tile rows: AVX-512's 32 registers
    // (the ymm code runs on them with AVX-512VL); two with AVX2's 16.
#if defined(__AVX512F__)
    constexpr int interleave = 4;
#else
    constexpr int interleave = 2;
#endif
    std::size_t o = 0;
    for (; o + 8 * interleave <= out; o += 8 * interleave) dense_detail::gemv_blocks<interleave>(x, w, y, in, out, o);
    for (; o + 8 < out; o += 16) dense_detail::gemv_blocks<2>(x, w, y, in, out, o);  // 9–16 outputs left
    if (o < out) dense_detail::gemv_blocks<1>(x, w, y, in, out, o);
#else
    dense_gemv_reference(x, w, y, in, out);
#endif
}

inline void dense_forward(const float* x, const float* w, const float* b, float* y, std::size_t n,
                          std::size_t in, std::size_t out) {
    if (n == 1) {
        dense_gemv(x, w, y, in, out);
    } else {
        // y = x wᵀ: op(B) = wᵀ, read as w with trans_b
        gemm({n, out, in, x, in, false, w, in, true, y, out, false});
    }
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

ARCHETYPE_KERNELS_END
