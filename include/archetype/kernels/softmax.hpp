// archetype/kernels/softmax.hpp — softmax and softmax cross-entropy on raw row-major pointers, SIMD with
// scalar twins.
//
// Contract: logits x [n][k], labels [n] each in [0, k) (the caller validates them; see train/loss.hpp).
//   softmax_forward:              p = softmax(x) row by row                      (overwrites p)
//   softmax_cross_entropy_rows:   loss[s] = log Σ_j exp(x[s][j]) − Σ_j t_j · x[s][j]   (overwrites loss)
//                                 dx = scale · (softmax(x) − t)                  (overwrites dx; dx may be null)
//     with the target t = (1 − ε)·onehot(label) + ε/k for label smoothing ε in [0, 1) (torch's
//     label_smoothing; ε = 0, the default, is the plain one-hot target and gives the same bits as before).
// Every row subtracts its maximum (found in index order, as before) before exponentiating, so large logits
// do not overflow. Exponentials and sums run in double: e_j = exp_d(x_j − max) with Cephes' double exp
// (a Padé form, ~1 ulp; arguments below −708 give ~1e-308 instead of 0), the same code on scalars and on
// vectors; Σ e_j runs as 8 partial sums (e_j to partial j mod 8) combined as a tree (p[j] + p[j+4], then
// + [j+2], + [j+1]). The SIMD kernels (AVX-512: one 8-double vector per chunk, AVX2: two 4-double ones)
// and their scalar twins (`*_scalar`) therefore agree bit for bit. A row holding NaN or ±∞ gives a
// non-finite loss; the caller decides what that means. Rows are independent: no threading effects.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>

#include "archetype/kernels/simd.hpp"

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
#include <immintrin.h>
#endif

ARCHETYPE_KERNELS_BEGIN

namespace softmax_detail {

inline double fma_d(double a, double b, double c) { return std::fma(a, b, c); }
inline double round_d(double x) { return std::nearbyint(x); }
inline double scale2_d(double x, double n) { return std::isnan(n) ? n : std::ldexp(x, int(n)); }
inline double select_d(bool m, double a, double b) { return m ? a : b; }

#if defined(ARCHETYPE_SIMD_AVX512F)
using dvec = __m512d;  // 8 doubles
inline dvec fma_d(dvec a, dvec b, dvec c) { return _mm512_fmadd_pd(a, b, c); }
// masked forms: the unmasked ones trip a false -Wuninitialized in g++ 12's avx512fintrin.h
inline dvec round_d(dvec x) { return _mm512_mask_roundscale_pd(x, 0xFF, x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline dvec scale2_d(dvec x, dvec n) { return _mm512_mask_scalef_pd(x, 0xFF, x, n); }
inline dvec select_d(__mmask8 m, dvec a, dvec b) { return _mm512_mask_blend_pd(m, b, a); }
inline __mmask8 less(dvec a, dvec b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
inline void store_d(double* p, dvec v) { _mm512_storeu_pd(p, v); }
#elif defined(ARCHETYPE_SIMD_AVX2)
using dvec = __m256d;  // 4 doubles
inline dvec fma_d(dvec a, dvec b, dvec c) { return _mm256_fmadd_pd(a, b, c); }
inline dvec round_d(dvec x) { return _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline dvec scale2_d(dvec x, dvec n) {  // x · 2^n for integral n in [−1022, 1023]
    const __m256d magic = _mm256_set1_pd(6755399441055744.0);  // 2^52 + 2^51: n lands in the low bits
    const __m256i bits = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(n, magic)), _mm256_castpd_si256(magic));
    const __m256i e = _mm256_slli_epi64(_mm256_add_epi64(bits, _mm256_set1_epi64x(1023)), 52);
    return _mm256_mul_pd(x, _mm256_castsi256_pd(e));
}
inline dvec select_d(dvec m, dvec a, dvec b) { return _mm256_blendv_pd(b, a, m); }
inline dvec less(dvec a, dvec b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
inline void store_d(double* p, dvec v) { _mm256_storeu_pd(p, v); }
#endif

// Arithmetic written once for double and dvec.
inline double set1(double v, double) { return v; }
#if defined(ARCHETYPE_SIMD_AVX512F)
inline dvec set1(double v, dvec) { return _mm512_set1_pd(v); }
#elif defined(ARCHETYPE_SIMD_AVX2)
inline dvec set1(double v, dvec) { return _mm256_set1_pd(v); }
#endif

// e^x (Cephes exp): n = round(x·log2 e), r = x − n·ln 2 (two parts), e^r = 1 + 2·r·P(r²)/(Q(r²) − r·P(r²)).
template <class T>
T exp_d(T x) {
    const T lo = set1(-708.0, x), hi = set1(709.0, x);
    if constexpr (std::is_same_v<T, double>) {
        x = x < -708.0 ? lo : (709.0 < x ? hi : x);
    } else {
        x = select_d(less(x, lo), lo, x);
        x = select_d(less(hi, x), hi, x);
    }
    const T n = round_d(x * set1(1.4426950408889634073599, x));
    T r = fma_d(n, set1(-6.93145751953125e-1, x), x);
    r = fma_d(n, set1(-1.42860682030941723212e-6, x), r);
    const T rr = r * r;
    T p = fma_d(rr, set1(1.26177193074810590878e-4, x), set1(3.02994407707441961300e-2, x));
    p = fma_d(rr, p, set1(9.99999999999999999910e-1, x)) * r;
    T q = fma_d(rr, set1(3.00198505138664455042e-6, x), set1(2.52448340349684104192e-3, x));
    q = fma_d(rr, q, set1(2.27265548208155028766e-1, x));
    q = fma_d(rr, q, set1(2.00000000000000000009e0, x));
    const T e = fma_d(set1(2.0, x), p / (q - p), set1(1.0, x));
    return scale2_d(e, n);
}

// The target of a class: on (the label) 1 − ε + ε/k, off ε/k; with ε = 0 exactly 1 and 0.
struct smoothed_target {
    double on = 1.0, off = 0.0;
    smoothed_target(double eps, std::size_t k) : on(1.0 - eps + eps / double(k)), off(eps / double(k)) {}
    double operator()(bool is_label) const { return is_label ? on : off; }
};

// log Σ exp(x_j − m) − Σ_j t_j (x_j − m) of one row, given sum = Σ exp(x_j − m); the ε-weighted mean
// of the row is summed in index order, only when ε > 0 (so ε = 0 keeps the plain form's bits).
inline double row_loss(const float* xs, std::size_t k, double m, double sum, std::size_t y, double eps) {
    if (eps == 0.0) return std::log(sum) - (double(xs[y]) - m);
    double mean = 0.0;
    for (std::size_t j = 0; j < k; ++j) mean += double(xs[j]) - m;
    return std::log(sum) - (1.0 - eps) * (double(xs[y]) - m) - eps * mean / double(k);
}

inline double combine8(const double* p) {
    const double a = p[0] + p[4], b = p[1] + p[5], c = p[2] + p[6], d = p[3] + p[7];
    return (a + c) + (b + d);
}

inline float row_max(const float* xs, std::size_t k) {
    float m = xs[0];
    for (std::size_t j = 1; j < k; ++j) m = xs[j] > m ? xs[j] : m;
    return m;
}

// Σ_j exp_d(x_j − m) of one row, scalar.
inline double exp_sum_scalar(const float* xs, std::size_t k, double m) {
    double p[8] = {};
    for (std::size_t j = 0; j < k; ++j) p[j % 8] += exp_d(double(xs[j]) - m);
    return combine8(p);
}

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
// exp_d(x_j − m) for the 8 values of a chunk (the last chunk of a row zero-padded and masked to 0).
struct chunk8 {
#if defined(ARCHETYPE_SIMD_AVX512F)
    dvec v[1];
    static constexpr int parts = 1;
    static chunk8 exps(const float* x8, double m, std::size_t valid) {
        const dvec e = exp_d(_mm512_sub_pd(_mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(x8)), _mm512_set1_pd(m)));
        return {{_mm512_maskz_mov_pd(__mmask8((1u << valid) - 1u), e)}};
    }
#else
    dvec v[2];
    static constexpr int parts = 2;
    static chunk8 exps(const float* x8, double m, std::size_t valid) {
        chunk8 c;
        for (int h = 0; h < 2; ++h) {
            const dvec e = exp_d(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x8 + 4 * h)), _mm256_set1_pd(m)));
            alignas(32) double keep[4];
            for (int j = 0; j < 4; ++j) keep[j] = std::size_t(4 * h + j) < valid ? -1.0 : 0.0;  // sign bit set
            c.v[h] = _mm256_blendv_pd(_mm256_setzero_pd(), e, _mm256_load_pd(keep));
        }
        return c;
    }
#endif
};

// Calls f(chunk, j0, valid) for every 8-value chunk of a row.
template <class F>
inline void for_chunks8(const float* xs, std::size_t k, double m, F&& f) {
    std::size_t j = 0;
    for (; j + 8 <= k; j += 8) f(chunk8::exps(xs + j, m, 8), j, std::size_t(8));
    if (j < k) {
        float pad[8] = {};
        std::copy(xs + j, xs + k, pad);
        f(chunk8::exps(pad, m, k - j), j, k - j);
    }
}

inline double exp_sum_simd(const float* xs, std::size_t k, double m) {
    chunk8 acc{};
    for (auto& v : acc.v) v = set1(0.0, v);
    for_chunks8(xs, k, m, [&](const chunk8& c, std::size_t, std::size_t) {
        for (int h = 0; h < chunk8::parts; ++h) acc.v[h] = acc.v[h] + c.v[h];
    });
    alignas(64) double p[8];
    for (int h = 0; h < chunk8::parts; ++h) store_d(p + h * (8 / chunk8::parts), acc.v[h]);
    return combine8(p);
}

// out[j] = float(a·(e_j/sum − t_j)) for j of the chunk (t a smoothed_target; no label if label ≥ k).
inline void write_chunk(const chunk8& c, std::size_t j0, std::size_t valid, double sum, double a, std::size_t label,
                        const smoothed_target& t, float* out) {
    alignas(64) double e[8];
    for (int h = 0; h < chunk8::parts; ++h) store_d(e + h * (8 / chunk8::parts), c.v[h]);
    for (std::size_t j = 0; j < valid; ++j) out[j] = float(a * (e[j] / sum - t(j0 + j == label)));
}
#endif

}  // namespace softmax_detail

// ---- scalar twins ----

inline void softmax_forward_scalar(const float* x, float* p, std::size_t n, std::size_t k) {
    using namespace softmax_detail;
    for (std::size_t s = 0; s < n; ++s) {
        const float* xs = x + s * k;
        const double m = row_max(xs, k), sum = exp_sum_scalar(xs, k, m);
        for (std::size_t j = 0; j < k; ++j) p[s * k + j] = float(1.0 * (exp_d(double(xs[j]) - m) / sum - 0.0));
    }
}

inline void softmax_cross_entropy_rows_scalar(const float* x, const int* labels, double* loss, float* dx, float scale,
                                              std::size_t n, std::size_t k, float smoothing = 0.0f) {
    using namespace softmax_detail;
    const smoothed_target t(smoothing, k);
    for (std::size_t s = 0; s < n; ++s) {
        const float* xs = x + s * k;
        const double m = row_max(xs, k), sum = exp_sum_scalar(xs, k, m);
        const auto y = static_cast<std::size_t>(labels[s]);
        loss[s] = row_loss(xs, k, m, sum, y, smoothing);
        if (dx)
            for (std::size_t j = 0; j < k; ++j)
                dx[s * k + j] = float(double(scale) * (exp_d(double(xs[j]) - m) / sum - t(j == y)));
    }
}

// ---- what callers use (SIMD when the build has it) ----

inline void softmax_forward(const float* x, float* p, std::size_t n, std::size_t k) {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    using namespace softmax_detail;
    for (std::size_t s = 0; s < n; ++s) {
        const float* xs = x + s * k;
        const double m = row_max(xs, k), sum = exp_sum_simd(xs, k, m);
        for_chunks8(xs, k, m, [&](const chunk8& c, std::size_t j0, std::size_t valid) {
            write_chunk(c, j0, valid, sum, 1.0, k, smoothed_target(0.0, k), p + s * k + j0);
        });
    }
#else
    softmax_forward_scalar(x, p, n, k);
#endif
}

inline void softmax_cross_entropy_rows(const float* x, const int* labels, double* loss, float* dx, float scale,
                                       std::size_t n, std::size_t k, float smoothing = 0.0f) {
#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
    using namespace softmax_detail;
    const smoothed_target t(smoothing, k);
    for (std::size_t s = 0; s < n; ++s) {
        const float* xs = x + s * k;
        const double m = row_max(xs, k), sum = exp_sum_simd(xs, k, m);
        const auto y = static_cast<std::size_t>(labels[s]);
        loss[s] = row_loss(xs, k, m, sum, y, smoothing);
        if (dx)
            for_chunks8(xs, k, m, [&](const chunk8& c, std::size_t j0, std::size_t valid) {
                write_chunk(c, j0, valid, sum, double(scale), y, t, dx + s * k + j0);
            });
    }
#else
    softmax_cross_entropy_rows_scalar(x, labels, loss, dx, scale, n, k, smoothing);
#endif
}

ARCHETYPE_KERNELS_END
