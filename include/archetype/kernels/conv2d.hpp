// archetype/kernels/conv2d.hpp — grouped, strided, zero-padded, dilated 2-D convolution on raw NCHW pointers.
//
// Contract: the geometry is a compile-time value (conv2d_geometry, a structural type), so every loop bound
// is a constant. Layouts: x [c][h][w] of one sample, y [out][ho][wo] of one sample, weight
// [out][c/groups][k][k] (PyTorch), bias [out] or null. Output channel o sees the input channels of its
// group g = o / (out/groups). Output size: (h + 2·pad − dil·(k−1) − 1)/stride + 1 (floor), same for w.
//   conv2d_forward<G>(x, w, b, y)                 one sample; overwrites y
//   conv2d_backward_data<G>(dy, w, dx)            one sample; overwrites dx
//   conv2d_backward_weights<G>(x, dy, n, dw, db)  n samples (x, dy hold n samples back to back); adds
//                                                 ∂/∂w into dw and ∂/∂b into db (db may be null),
//                                                 summing samples in order (deterministic)
// Method: per group, the (zero-padded) input is unrolled into col[(c/groups)·k·k][ho·wo] (im2col, rows
// padded to the vector width), and the three products are small GEMMs with compile-time sizes whose
// register tiles use xsimd (y = W·col, dcol = Wᵀ·dy then col2im, dW += dy·colᵀ). 1×1 stride-1 unpadded
// convolutions use the input as col directly. Unrolled data lives in a per-thread scratch buffer, so the
// functions may run concurrently on different samples (e.g. inside parallel_for). The vector width is
// that of the compile flags (-march): compile the whole program with one -march.
// kernels::reference holds plain loops with run-time geometry, straight from the definition; the tests
// hold the fast kernels to it. A faster implementation may replace the functions above behind the same
// signatures.
#pragma once

#include <algorithm>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "archetype/core/aligned_buffer.hpp"

namespace archetype::kernels {

struct conv2d_geometry {
    int c = 1, h = 1, w = 1;  // input channels, height, width
    int out = 1, k = 1, stride = 1, pad = 0, dil = 1, groups = 1;

    constexpr int extent() const { return dil * (k - 1) + 1; }
    constexpr int ho() const { return (h + 2 * pad - extent()) / stride + 1; }
    constexpr int wo() const { return (w + 2 * pad - extent()) / stride + 1; }
    constexpr int cg() const { return c / groups; }    // input channels per group
    constexpr int og() const { return out / groups; }  // output channels per group
    constexpr std::size_t weight_count() const { return std::size_t(out) * std::size_t(cg()) * k * k; }
    constexpr bool valid() const {
        return c > 0 && h > 0 && w > 0 && out > 0 && k > 0 && stride > 0 && pad >= 0 && dil > 0 && groups > 0 &&
               c % groups == 0 && out % groups == 0 && h + 2 * pad >= extent() && w + 2 * pad >= extent();
    }
};

namespace conv_detail {

using vec = xsimd::batch<float>;
inline constexpr int lanes = int(vec::size);
constexpr int round_up(int n, int m) { return (n + m - 1) / m * m; }

// A per-thread scratch area of at least n floats, kept between calls (kernels run inside parallel_for).
inline float* scratch(std::size_t n) {
    thread_local aligned_buffer<float> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
}

// dst[i] = src[i·S] for i < N.
template <int N, int S>
inline void copy_row(const float* __restrict src, float* __restrict dst) {
    if constexpr (S == 1 && N >= lanes) {
        for (int i = 0; i + lanes <= N; i += lanes) vec::load_unaligned(src + i).store_unaligned(dst + i);
        if constexpr (N % lanes != 0) vec::load_unaligned(src + N - lanes).store_unaligned(dst + N - lanes);
    } else {
        for (int i = 0; i < N; ++i) dst[i] = src[i * S];
    }
}

// dst[i·S] += src[i] for i < N.
template <int N, int S>
inline void add_row(const float* __restrict src, float* __restrict dst) {
    int i = 0;
    if constexpr (S == 1)
        for (; i + lanes <= N; i += lanes)
            (vec::load_unaligned(dst + i) + vec::load_unaligned(src + i)).store_unaligned(dst + i);
    for (; i < N; ++i) dst[i * S] += src[i];
}

// Sizes of the GEMM view of one group, C[Og][P] = W[Og][R] · col[R][P], rows padded to the vector width,
// and of the zero-padded copy of the group's input, [Cg][Hp][Wp].
template <conv2d_geometry G>
struct layout {
    static constexpr int Cg = G.cg(), Og = G.og(), R = Cg * G.k * G.k, Ho = G.ho(), Wo = G.wo(), P = Ho * Wo;
    static constexpr int Pp = round_up(P, lanes), Hp = G.h + 2 * G.pad, Wp = G.w + 2 * G.pad;
    static constexpr std::size_t group_in = std::size_t(Cg) * G.h * G.w;
    // 1×1, stride 1, no padding, rows already a multiple of the vector width: the input is its own col.
    static constexpr bool input_is_col = G.k == 1 && G.stride == 1 && G.pad == 0 && P == Pp;
    static constexpr std::size_t padded_floats = G.pad > 0 ? std::size_t(Cg) * Hp * Wp : 0;
    static constexpr std::size_t col_floats = input_is_col ? 0 : std::size_t(R) * Pp;
    static constexpr std::size_t rows_floats = P == Pp ? 0 : std::size_t(Og) * Pp;
    static constexpr std::size_t scratch_floats = padded_floats + col_floats + rows_floats;
};

// xp = group input xg with `pad` zeros on every side (only called when pad > 0).
template <conv2d_geometry G>
void pad_input(const float* __restrict xg, float* __restrict xp) {
    using L = layout<G>;
    std::fill_n(xp, L::padded_floats, 0.0f);
    for (int ci = 0; ci < L::Cg; ++ci)
        for (int ih = 0; ih < G.h; ++ih)
            std::copy_n(xg + (std::size_t(ci) * G.h + ih) * G.w, G.w,
                        xp + (std::size_t(ci) * L::Hp + ih + G.pad) * L::Wp + G.pad);
}

// Unrolls the taps of the padded group input xp into col[r·Pp + p], r = (ci·K + kh)·K + kw,
// p = oh·Wo + ow: the value tap r reads for output p; 0 for p in [P, Pp).
template <conv2d_geometry G>
void im2col(const float* __restrict xp, float* __restrict col) {
    using L = layout<G>;
    for (int ci = 0; ci < L::Cg; ++ci)
        for (int kh = 0; kh < G.k; ++kh)
            for (int kw = 0; kw < G.k; ++kw) {
                float* cr = col + std::size_t((ci * G.k + kh) * G.k + kw) * L::Pp;
                const float* src = xp + (std::size_t(ci) * L::Hp + kh * G.dil) * L::Wp + kw * G.dil;
                for (int oh = 0; oh < L::Ho; ++oh)
                    copy_row<L::Wo, G.stride>(src + std::size_t(oh) * G.stride * L::Wp, cr + oh * L::Wo);
                std::fill(cr + L::P, cr + L::Pp, 0.0f);
            }
}

// The adjoint of im2col: adds every col[r·Pp + p] into the padded input element it reads.
template <conv2d_geometry G>
void col2im_add(const float* __restrict col, float* __restrict dxp) {
    using L = layout<G>;
    for (int ci = 0; ci < L::Cg; ++ci)
        for (int kh = 0; kh < G.k; ++kh)
            for (int kw = 0; kw < G.k; ++kw) {
                const float* cr = col + std::size_t((ci * G.k + kh) * G.k + kw) * L::Pp;
                float* dst = dxp + (std::size_t(ci) * L::Hp + kh * G.dil) * L::Wp + kw * G.dil;
                for (int oh = 0; oh < L::Ho; ++oh)
                    add_row<L::Wo, G.stride>(cr + oh * L::Wo, dst + std::size_t(oh) * G.stride * L::Wp);
            }
}

// One MB × NV·lanes tile at (m0, n0) of C[m][n] = start + Σ_k A[m·SM + k·SK] · B[k·N + n], where start is
// bias[m] (0 when bias is null). N, the row stride of B and C, is a multiple of the vector width. All
// bounds are constants, so the accumulators live in registers.
template <int Kd, int N, int SM, int SK, int MB, int NV>
inline void gemm_tile(const float* __restrict a, const float* __restrict b, float* __restrict c,
                      const float* __restrict bias, int m0, int n0) {
    vec acc[MB][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[i][j] = vec(bias ? bias[m0 + i] : 0.0f);
    for (int k = 0; k < Kd; ++k) {
        vec bv[NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) bv[j] = vec::load_unaligned(b + std::size_t(k) * N + n0 + j * lanes);
#pragma GCC unroll 8
        for (int i = 0; i < MB; ++i) {
            const vec av(a[(m0 + i) * SM + k * SK]);
#pragma GCC unroll 8
            for (int j = 0; j < NV; ++j) acc[i][j] = xsimd::fma(av, bv[j], acc[i][j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[i][j].store_unaligned(c + std::size_t(m0 + i) * N + n0 + j * lanes);
}

// C[M][N] = bias + A·B, A read through strides (SM, SK), B [Kd][N] and C row-major, N % lanes == 0.
template <int M, int Kd, int N, int SM, int SK>
void gemm(const float* a, const float* b, float* c, const float* bias) {
    static_assert(N % lanes == 0);
    constexpr int MB = 4, NV = 2, NB = NV * lanes, Mf = M / MB * MB, Nf = N / NB * NB;
    auto row_block = [&]<int mb>(int m0) {
        for (int n0 = 0; n0 < Nf; n0 += NB) gemm_tile<Kd, N, SM, SK, mb, NV>(a, b, c, bias, m0, n0);
        if constexpr (N % NB != 0) gemm_tile<Kd, N, SM, SK, mb, N % NB / lanes>(a, b, c, bias, m0, Nf);
    };
    for (int m0 = 0; m0 < Mf; m0 += MB) row_block.template operator()<MB>(m0);
    if constexpr (M % MB != 0) row_block.template operator()<M % MB>(Mf);
}

// One MB × NB tile of C[m][n] += Σ_k A[m·L + k] · B[n·L + k] (L % lanes == 0): lane-wise products,
// then one fixed-order horizontal sum per entry.
template <int L, int MB, int NB>
inline void gemm_nt_tile(const float* __restrict a, const float* __restrict b, float* __restrict c, int ldc,
                         int m0, int n0) {
    vec acc[MB][NB];
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NB; ++j) acc[i][j] = vec(0.0f);
    for (int k = 0; k < L; k += lanes) {
        vec av[MB], bv[NB];
#pragma GCC unroll 8
        for (int i = 0; i < MB; ++i) av[i] = vec::load_unaligned(a + std::size_t(m0 + i) * L + k);
#pragma GCC unroll 8
        for (int j = 0; j < NB; ++j) bv[j] = vec::load_unaligned(b + std::size_t(n0 + j) * L + k);
#pragma GCC unroll 8
        for (int i = 0; i < MB; ++i)
#pragma GCC unroll 8
            for (int j = 0; j < NB; ++j) acc[i][j] = xsimd::fma(av[i], bv[j], acc[i][j]);
    }
    for (int i = 0; i < MB; ++i)
        for (int j = 0; j < NB; ++j) c[(m0 + i) * ldc + n0 + j] += xsimd::hadd(acc[i][j]);
}

// C[M][N] (row stride ldc) += A[M][L] · B[N][L]ᵀ.
template <int M, int N, int L>
void gemm_nt(const float* a, const float* b, float* c, int ldc) {
    static_assert(L % lanes == 0);
    constexpr int MB = 4, NB = lanes >= 16 ? 4 : 2, Mf = M / MB * MB, Nf = N / NB * NB;
    auto row_block = [&]<int mb>(int m0) {
        for (int n0 = 0; n0 < Nf; n0 += NB) gemm_nt_tile<L, mb, NB>(a, b, c, ldc, m0, n0);
        if constexpr (N % NB != 0) gemm_nt_tile<L, mb, N % NB>(a, b, c, ldc, m0, Nf);
    };
    for (int m0 = 0; m0 < Mf; m0 += MB) row_block.template operator()<MB>(m0);
    if constexpr (M % MB != 0) row_block.template operator()<M % MB>(Mf);
}

// col of group input xg in scratch (or xg itself when it already is one).
template <conv2d_geometry G>
const float* unroll_group(const float* xg, float* scratch) {
    using L = layout<G>;
    if constexpr (L::input_is_col) {
        return xg;
    } else {
        const float* xp = xg;
        if constexpr (G.pad > 0) {
            pad_input<G>(xg, scratch);
            xp = scratch;
        }
        im2col<G>(xp, scratch + L::padded_floats);
        return scratch + L::padded_floats;
    }
}

}  // namespace conv_detail

template <conv2d_geometry G>
void conv2d_forward(const float* x, const float* w, const float* b, float* y) {
    static_assert(G.valid(), "archetype::kernels::conv2d_forward: invalid geometry");
    using L = conv_detail::layout<G>;
    float* scratch = conv_detail::scratch(L::scratch_floats);
    float* rows = scratch + L::padded_floats + L::col_floats;  // output rows padded to Pp
    for (int g = 0; g < G.groups; ++g) {
        const float* col = conv_detail::unroll_group<G>(x + g * L::group_in, scratch);
        float* yg = y + std::size_t(g) * L::Og * L::P;
        conv_detail::gemm<L::Og, L::R, L::Pp, L::R, 1>(w + std::size_t(g) * L::Og * L::R, col,
                                                  L::P == L::Pp ? yg : rows, b ? b + g * L::Og : nullptr);
        if constexpr (L::P != L::Pp)
            for (int o = 0; o < L::Og; ++o) std::copy_n(rows + o * L::Pp, L::P, yg + o * L::P);
    }
}

template <conv2d_geometry G>
void conv2d_backward_data(const float* dy, const float* w, float* dx) {
    static_assert(G.valid(), "archetype::kernels::conv2d_backward_data: invalid geometry");
    using L = conv_detail::layout<G>;
    float* scratch = conv_detail::scratch(L::scratch_floats);
    float* dxp = scratch;                          // padded input gradient of one group
    float* col = scratch + L::padded_floats;       // its unrolled form
    float* rows = col + L::col_floats;             // dy of one group with rows padded to Pp
    for (int g = 0; g < G.groups; ++g) {
        const float* dyg = dy + std::size_t(g) * L::Og * L::P;
        if constexpr (L::P != L::Pp)
            for (int o = 0; o < L::Og; ++o) std::copy_n(dyg + o * L::P, L::P, rows + o * L::Pp);
        float* dxg = dx + g * L::group_in;
        if constexpr (L::input_is_col) {
            conv_detail::gemm<L::R, L::Og, L::Pp, 1, L::R>(w + std::size_t(g) * L::Og * L::R, dyg, dxg, nullptr);
        } else {
            conv_detail::gemm<L::R, L::Og, L::Pp, 1, L::R>(w + std::size_t(g) * L::Og * L::R,
                                                      L::P == L::Pp ? dyg : rows, col, nullptr);
            if constexpr (G.pad == 0) {
                std::fill_n(dxg, L::group_in, 0.0f);
                conv_detail::col2im_add<G>(col, dxg);
            } else {
                std::fill_n(dxp, L::padded_floats, 0.0f);
                conv_detail::col2im_add<G>(col, dxp);
                for (int ci = 0; ci < L::Cg; ++ci)
                    for (int ih = 0; ih < G.h; ++ih)
                        std::copy_n(dxp + (std::size_t(ci) * L::Hp + ih + G.pad) * L::Wp + G.pad, G.w,
                                    dxg + (std::size_t(ci) * G.h + ih) * G.w);
            }
        }
    }
}

template <conv2d_geometry G>
void conv2d_backward_weights(const float* x, const float* dy, std::size_t n, float* dw, float* db) {
    static_assert(G.valid(), "archetype::kernels::conv2d_backward_weights: invalid geometry");
    using L = conv_detail::layout<G>;
    constexpr std::size_t in_size = std::size_t(G.c) * G.h * G.w, out_size = std::size_t(G.out) * L::P;
    float* scratch = conv_detail::scratch(L::scratch_floats);
    float* rows = scratch + L::padded_floats + L::col_floats;  // dy of one group, zero-padded rows
    for (std::size_t s = 0; s < n; ++s) {
        for (int g = 0; g < G.groups; ++g) {
            const float* dyg = dy + s * out_size + std::size_t(g) * L::Og * L::P;
            if constexpr (L::P != L::Pp) {
                for (int o = 0; o < L::Og; ++o) {
                    std::copy_n(dyg + o * L::P, L::P, rows + o * L::Pp);
                    std::fill(rows + o * L::Pp + L::P, rows + (o + 1) * L::Pp, 0.0f);
                }
            }
            const float* col = conv_detail::unroll_group<G>(x + s * in_size + g * L::group_in, scratch);
            conv_detail::gemm_nt<L::Og, L::R, L::Pp>(L::P == L::Pp ? dyg : rows, col,
                                                     dw + std::size_t(g) * L::Og * L::R, L::R);
        }
    }
    if (db) {
        for (int o = 0; o < G.out; ++o) {
            float acc = 0.0f;
            for (std::size_t s = 0; s < n; ++s) {
                const float* d = dy + s * out_size + std::size_t(o) * L::P;
                for (int p = 0; p < L::P; ++p) acc += d[p];
            }
            db[o] += acc;
        }
    }
}

// Plain loops with run-time geometry, written from the definition (one sample; same contracts).
namespace reference {

inline void conv2d_forward(const conv2d_geometry& g, const float* x, const float* w, const float* b, float* y) {
    const int ho = g.ho(), wo = g.wo(), cg = g.cg(), og = g.og();
    for (int o = 0; o < g.out; ++o)
        for (int i = 0; i < ho; ++i)
            for (int j = 0; j < wo; ++j) {
                double acc = b ? b[o] : 0.0;
                for (int ci = 0; ci < cg; ++ci)
                    for (int kh = 0; kh < g.k; ++kh)
                        for (int kw = 0; kw < g.k; ++kw) {
                            const int ih = i * g.stride - g.pad + kh * g.dil, iw = j * g.stride - g.pad + kw * g.dil;
                            if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                            acc += double(w[((o * cg + ci) * g.k + kh) * g.k + kw]) *
                                   x[((o / og * cg + ci) * g.h + ih) * g.w + iw];
                        }
                y[(o * ho + i) * wo + j] = float(acc);
            }
}

// dx = ∂(Σ dy·y)/∂x (overwritten); dw, db accumulate ∂/∂w, ∂/∂b (db may be null).
inline void conv2d_backward(const conv2d_geometry& g, const float* x, const float* w, const float* dy, float* dx,
                            float* dw, float* db) {
    const int ho = g.ho(), wo = g.wo(), cg = g.cg(), og = g.og();
    std::fill(dx, dx + g.c * g.h * g.w, 0.0f);
    for (int o = 0; o < g.out; ++o)
        for (int i = 0; i < ho; ++i)
            for (int j = 0; j < wo; ++j) {
                const float d = dy[(o * ho + i) * wo + j];
                if (db) db[o] += d;
                for (int ci = 0; ci < cg; ++ci)
                    for (int kh = 0; kh < g.k; ++kh)
                        for (int kw = 0; kw < g.k; ++kw) {
                            const int ih = i * g.stride - g.pad + kh * g.dil, iw = j * g.stride - g.pad + kw * g.dil;
                            if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                            const int xi = ((o / og * cg + ci) * g.h + ih) * g.w + iw;
                            const int wi = ((o * cg + ci) * g.k + kh) * g.k + kw;
                            dx[xi] += w[wi] * d;
                            dw[wi] += x[xi] * d;
                        }
            }
}

}  // namespace reference

}  // namespace archetype::kernels
