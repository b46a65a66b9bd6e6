// archetype/kernels/gemm.hpp — single-precision matrix product C (+)= op(A) op(B) on raw row-major pointers.
//
// Contract: op(A) is m×k, op(B) is k×n, C is m×n with row stride ldc.
//   op(A)(i, p) = trans_a ? a[p*lda + i] : a[i*lda + p]     op(B)(p, j) = trans_b ? b[j*ldb + p] : b[p*ldb + j]
//   C(i, j) = fma chain over p = 0, 1, ..., k-1 (each step rounded once), started from
//             C(i, j) if accumulate, else from 0.
// gemm_reference is that definition written as plain loops with std::fma; gemm (the packed,
// register-blocked SIMD kernel) computes exactly the same chain for every element, so the two agree
// bit for bit whatever the blocking, and the result never depends on threading or tiling.
// The SIMD path packs op(B) into panels of NR columns and op(A) into panels of MR rows (KC deep),
// then runs an MR×NR micro-kernel of 2·MR vector accumulators on xsimd::batch<float, Arch>.
// Pointers need no alignment. Buffers for the packed panels are per thread and reused.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>

#include "archetype/core/aligned_buffer.hpp"
#include "archetype/kernels/simd.hpp"

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
#include <immintrin.h>
#endif

ARCHETYPE_KERNELS_BEGIN

struct gemm_operands {
    std::size_t m, n, k;
    const float* a;
    std::size_t lda;
    bool trans_a;
    const float* b;
    std::size_t ldb;
    bool trans_b;
    float* c;
    std::size_t ldc;
    bool accumulate;
};

// The scalar twin: the definition above, one element at a time.
inline void gemm_reference(const gemm_operands& g) {
    for (std::size_t i = 0; i < g.m; ++i)
        for (std::size_t j = 0; j < g.n; ++j) {
            float acc = g.accumulate ? g.c[i * g.ldc + j] : 0.0f;
            for (std::size_t p = 0; p < g.k; ++p) {
                const float av = g.trans_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
                const float bv = g.trans_b ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
                acc = std::fma(av, bv, acc);
            }
            g.c[i * g.ldc + j] = acc;
        }
}

namespace gemm_detail {

// Register tile and cache blocking per arch: MR rows × NR = 2 vectors of columns.
template <class Arch>
struct blocking {
    static constexpr std::size_t width = xsimd::batch<float, Arch>::size;
    static constexpr std::size_t nr = 2 * width;
    static constexpr std::size_t mr = width == 16 ? 8 : 6;  // 16 of 32 zmm / 12 of 16 ymm accumulators
    static constexpr std::size_t kc = 256;                  // depth of one packed panel
    static constexpr std::size_t mc = mr * 12;              // rows of A packed at once
    static constexpr std::size_t nc = nr * 16;              // columns of B packed at once (kc×nc = 512 KiB)
};

template <std::size_t... I, class F>
inline void unrolled(std::index_sequence<I...>, F&& f) {
    (f(std::integral_constant<std::size_t, I>{}), ...);
}

// Rows [r0, r0+mr) of op(A), depth [p0, p0+kc): pa[p*MR + r] (rows past m are not written or read).
inline void pack_a(const gemm_operands& g, std::size_t r0, std::size_t rows, std::size_t p0, std::size_t kc,
                   std::size_t mr_stride, float* pa) {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t p = 0; p < kc; ++p)
            pa[p * mr_stride + r] =
                g.trans_a ? g.a[(p0 + p) * g.lda + r0 + r] : g.a[(r0 + r) * g.lda + p0 + p];
}

// Columns [c0, c0+cols) of op(B), depth [p0, p0+kc): pb[p*NR + c], zero past n.
inline void pack_b(const gemm_operands& g, std::size_t c0, std::size_t cols, std::size_t p0, std::size_t kc,
                   std::size_t nr, float* pb) {
    if (!g.trans_b) {
        for (std::size_t p = 0; p < kc; ++p) {
            const float* src = g.b + (p0 + p) * g.ldb + c0;
            float* dst = pb + p * nr;
            for (std::size_t c = 0; c < cols; ++c) dst[c] = src[c];
            for (std::size_t c = cols; c < nr; ++c) dst[c] = 0.0f;
        }
    } else {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
        // 4×4 blocks transposed in registers: contiguous 4-float reads and writes instead of one write per
        // element at stride nr (this packing is all the work of a batch-1 dense layer).
        if (cols == nr && nr % 4 == 0) {
            const std::size_t kc4 = kc / 4 * 4;
            for (std::size_t p = 0; p < kc4; p += 4)
                for (std::size_t c = 0; c < nr; c += 4) {
                    const float* src = g.b + (c0 + c) * g.ldb + p0 + p;
                    __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + g.ldb), r2 = _mm_loadu_ps(src + 2 * g.ldb),
                           r3 = _mm_loadu_ps(src + 3 * g.ldb);
                    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                    _mm_storeu_ps(pb + p * nr + c, r0), _mm_storeu_ps(pb + (p + 1) * nr + c, r1);
                    _mm_storeu_ps(pb + (p + 2) * nr + c, r2), _mm_storeu_ps(pb + (p + 3) * nr + c, r3);
                }
            for (std::size_t c = 0; c < nr; ++c) {
                const float* src = g.b + (c0 + c) * g.ldb + p0;
                for (std::size_t p = kc4; p < kc; ++p) pb[p * nr + c] = src[p];
            }
            return;
        }
#endif
        for (std::size_t c = 0; c < nr; ++c) {
            if (c >= cols) {
                for (std::size_t p = 0; p < kc; ++p) pb[p * nr + c] = 0.0f;
                continue;
            }
            const float* src = g.b + (c0 + c) * g.ldb + p0;
            for (std::size_t p = 0; p < kc; ++p) pb[p * nr + c] = src[p];
        }
    }
}

// Rows × NR tile of C (row stride ldc) continued by kc steps of the fma chain.
template <class Arch, std::size_t Rows>
inline void micro_kernel(std::size_t kc, const float* pa, const float* pb, float* c, std::size_t ldc, bool load_c) {
    using vec = xsimd::batch<float, Arch>;
    constexpr std::size_t w = vec::size, mr = blocking<Arch>::mr, nr = blocking<Arch>::nr;
    constexpr auto rows = std::make_index_sequence<Rows>{};
    vec lo[Rows], hi[Rows];
    unrolled(rows, [&](auto r) {
        lo[r] = load_c ? vec::load_unaligned(c + r * ldc) : vec(0.0f);
        hi[r] = load_c ? vec::load_unaligned(c + r * ldc + w) : vec(0.0f);
    });
    for (std::size_t p = 0; p < kc; ++p) {
        const vec b0 = vec::load_aligned(pb + p * nr), b1 = vec::load_aligned(pb + p * nr + w);
        unrolled(rows, [&](auto r) {
            const vec av(pa[p * mr + r]);
            lo[r] = fused_multiply_add(av, b0, lo[r]);
            hi[r] = fused_multiply_add(av, b1, hi[r]);
        });
    }
    unrolled(rows, [&](auto r) {
        lo[r].store_unaligned(c + r * ldc);
        hi[r].store_unaligned(c + r * ldc + w);
    });
}

template <class Arch, std::size_t... R>
inline void micro_kernel_rows(std::size_t rows, std::index_sequence<R...>, std::size_t kc, const float* pa,
                              const float* pb, float* c, std::size_t ldc, bool load_c) {
    using fn = void (*)(std::size_t, const float*, const float*, float*, std::size_t, bool);
    static constexpr fn table[] = {&micro_kernel<Arch, R + 1>...};
    table[rows - 1](kc, pa, pb, c, ldc, load_c);
}

// One MR×NR (or smaller, at the edges) tile; edge columns go through a full-width scratch tile.
template <class Arch>
inline void tile(std::size_t rows, std::size_t cols, std::size_t kc, const float* pa, const float* pb, float* c,
                 std::size_t ldc, bool load_c) {
    using blk = blocking<Arch>;
    constexpr auto all_rows = std::make_index_sequence<blk::mr>{};
    if (cols == blk::nr) {
        micro_kernel_rows<Arch>(rows, all_rows, kc, pa, pb, c, ldc, load_c);
        return;
    }
    alignas(64) float scratch[blk::mr * blk::nr] = {};
    if (load_c)
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < cols; ++j) scratch[r * blk::nr + j] = c[r * ldc + j];
    micro_kernel_rows<Arch>(rows, all_rows, kc, pa, pb, scratch, blk::nr, load_c);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j) c[r * ldc + j] = scratch[r * blk::nr + j];
}

struct packed_a_tag;
struct packed_b_tag;
inline float* scratch_a(std::size_t n) { return per_thread_buffer<packed_a_tag>(n); }
inline float* scratch_b(std::size_t n) { return per_thread_buffer<packed_b_tag>(n); }

}  // namespace gemm_detail

// The packed SIMD product on one arch (exposed so tests can run every arch the CPU has).
template <class Arch>
inline void gemm_packed(const gemm_operands& g) {
    using blk = gemm_detail::blocking<Arch>;
    if (g.m == 0 || g.n == 0) return;
    if (g.k == 0) {
        if (!g.accumulate)
            for (std::size_t i = 0; i < g.m; ++i)
                for (std::size_t j = 0; j < g.n; ++j) g.c[i * g.ldc + j] = 0.0f;
        return;
    }
    const std::size_t kc_max = std::min(blk::kc, g.k);
    float* pb = gemm_detail::scratch_b(kc_max * std::min(blk::nc, (g.n + blk::nr - 1) / blk::nr * blk::nr));
    float* pa = gemm_detail::scratch_a(kc_max * std::min(blk::mc, (g.m + blk::mr - 1) / blk::mr * blk::mr));
    for (std::size_t jc = 0; jc < g.n; jc += blk::nc) {
        const std::size_t ncols = std::min(blk::nc, g.n - jc);
        for (std::size_t pc = 0; pc < g.k; pc += blk::kc) {
            const std::size_t kc = std::min(blk::kc, g.k - pc);
            const bool load_c = g.accumulate || pc > 0;  // the chain continues from C after the first panel
            for (std::size_t jr = 0; jr < ncols; jr += blk::nr)
                gemm_detail::pack_b(g, jc + jr, std::min(blk::nr, ncols - jr), pc, kc, blk::nr, pb + jr * kc);
            for (std::size_t ic = 0; ic < g.m; ic += blk::mc) {
                const std::size_t nrows = std::min(blk::mc, g.m - ic);
                for (std::size_t ir = 0; ir < nrows; ir += blk::mr)
                    gemm_detail::pack_a(g, ic + ir, std::min(blk::mr, nrows - ir), pc, kc, blk::mr, pa + ir * kc);
                for (std::size_t jr = 0; jr < ncols; jr += blk::nr)
                    for (std::size_t ir = 0; ir < nrows; ir += blk::mr)
                        gemm_detail::tile<Arch>(std::min(blk::mr, nrows - ir), std::min(blk::nr, ncols - jr), kc,
                                                pa + ir * kc, pb + jr * kc, g.c + (ic + ir) * g.ldc + jc + jr,
                                                g.ldc, load_c);
            }
        }
    }
}

// The product on the best arch this translation unit was compiled for (scalar twin without SIMD).
inline void gemm(const gemm_operands& g) {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    gemm_packed<simd_arch>(g);
#else
    gemm_reference(g);
#endif
}

// Which path gemm() takes, e.g. "avx512f 8x32 packed micro-kernel (kc=256)"; benchmarks print it.
inline std::string gemm_path() {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    using blk = gemm_detail::blocking<simd_arch>;
    return std::string(simd_name()) + " " + std::to_string(blk::mr) + "x" + std::to_string(blk::nr) +
           " packed micro-kernel (kc=" + std::to_string(blk::kc) + ")";
#else
    return "scalar reference loops (no AVX2+FMA or AVX-512 at compile time)";
#endif
}

ARCHETYPE_KERNELS_END
