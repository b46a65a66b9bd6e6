// archetype/blocks/dyn_conv.hpp — convolutions compiled once for every shape: `dyn_pointwise<Out, Bias>`,
// `dyn_expand<Mult, Bias>` and `dyn_depthwise<K, Stride>`.
//
// Contract: each is a descriptor with exactly the shapes, cost, parameter layout and initialisation of
// its compile-time twin — dyn_pointwise<Out, Bias> of conv2d<Out, 1, 1, 0, 1, 1, Bias>,
// dyn_expand<Mult, Bias> of conv2d_times<Mult, 1, 1, 0, 1, Bias>, dyn_depthwise<K, Stride> of
// depthwise_conv2d<K, Stride, K / 2, 1, 1, false> — so a network may swap one for the other and keep
// its weights (codegen writes the twin: space/once_for_all.hpp). The difference is where the geometry
// lives: the twins' kernels are generated per shape (fast, but each new shape costs compile time),
// these call functions with run-time geometry that are compiled once per translation unit. A search
// space with hundreds of distinct convolution shapes (the Once-for-All space) is built from these.
// Pointwise convolutions are products on kernels::gemm (packed SIMD, C = W·X per sample; the weight
// gradient sums dY·Xᵀ over the samples in order); the depthwise convolution is a direct loop. Forward
// and the input gradient run batch-parallel; weight gradients sum the batch in sample order (the
// depthwise one in parallel over channels), so results do not depend on the thread count. Results
// equal the twins' up to float rounding (a different summation order).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "archetype/blocks/conv_bn.hpp"
#include "archetype/kernels/gemm.hpp"
#include "archetype/layers/conv2d.hpp"

namespace archetype {

namespace detail {

// y[out][p] = Σ_c w[out][c] x[c][p] (+ b[out]), one sample, p < hw.
inline void pointwise_forward(int c, int out, std::size_t hw, const float* x, const float* w, const float* b,
                              float* y) {
    kernels::gemm({std::size_t(out), hw, std::size_t(c), w, std::size_t(c), false, x, hw, false, y, hw, false});
    if (b)
        for (int o = 0; o < out; ++o)
            for (std::size_t p = 0; p < hw; ++p) y[std::size_t(o) * hw + p] += b[o];
}
// dx = Wᵀ dy, one sample.
inline void pointwise_backward_data(int c, int out, std::size_t hw, const float* dy, const float* w, float* dx) {
    kernels::gemm({std::size_t(c), hw, std::size_t(out), w, std::size_t(c), true, dy, hw, false, dx, hw, false});
}
// dw += Σ_n dy_n x_nᵀ, db += Σ_n Σ_p dy_n, samples in order.
inline void pointwise_backward_weights(int c, int out, std::size_t hw, std::size_t batch, const float* x,
                                       const float* dy, float* dw, float* db) {
    const std::size_t in_size = std::size_t(c) * hw, out_size = std::size_t(out) * hw;
    for (std::size_t n = 0; n < batch; ++n)
        kernels::gemm({std::size_t(out), std::size_t(c), hw, dy + n * out_size, hw, false, x + n * in_size, hw, true,
                       dw, std::size_t(c), true});
    if (db)
        for (int o = 0; o < out; ++o) {
            float acc = 0.0f;
            for (std::size_t n = 0; n < batch; ++n) {
                const float* d = dy + n * out_size + std::size_t(o) * hw;
                for (std::size_t p = 0; p < hw; ++p) acc += d[p];
            }
            db[o] += acc;
        }
}

// Depthwise K×K, stride s, padding K/2, one channel of one sample: y[i][j] = Σ w[kh][kw] x[i·s − p + kh][j·s − p + kw].
struct depthwise_geometry {
    int h, w, k, stride;
    constexpr int pad() const { return k / 2; }
    constexpr int ho() const { return (h + 2 * pad() - k) / stride + 1; }
    constexpr int wo() const { return (w + 2 * pad() - k) / stride + 1; }
    // output columns j with 0 <= j·s − p + kw < w
    constexpr int j_lo(int kw) const { return std::max(0, (pad() - kw + stride - 1) / stride); }
    constexpr int j_hi(int kw) const {
        const int last = w - 1 + pad() - kw;  // j·s <= last
        return last < 0 ? 0 : std::min(wo(), last / stride + 1);
    }
};

inline void depthwise_forward(const depthwise_geometry& g, const float* x, const float* w, float* y) {
    const int ho = g.ho(), wo = g.wo(), p = g.pad(), s = g.stride;
    std::fill(y, y + std::size_t(ho) * wo, 0.0f);
    for (int i = 0; i < ho; ++i) {
        float* yr = y + std::size_t(i) * wo;
        for (int kh = 0; kh < g.k; ++kh) {
            const int ih = i * s - p + kh;
            if (ih < 0 || ih >= g.h) continue;
            const float* xr = x + std::size_t(ih) * g.w;
            for (int kw = 0; kw < g.k; ++kw) {
                const float wv = w[kh * g.k + kw];
                const int lo = g.j_lo(kw), hi = g.j_hi(kw), off = kw - p;
                if (s == 1) {
                    for (int j = lo; j < hi; ++j) yr[j] += wv * xr[j + off];
                } else {
                    for (int j = lo; j < hi; ++j) yr[j] += wv * xr[j * s + off];
                }
            }
        }
    }
}
// dx (overwritten) and, when dw is not null, dw += ∂/∂w for one channel of one sample.
inline void depthwise_backward(const depthwise_geometry& g, const float* x, const float* w, const float* dy, float* dx,
                               float* dw) {
    const int ho = g.ho(), wo = g.wo(), p = g.pad(), s = g.stride;
    if (dx) std::fill(dx, dx + std::size_t(g.h) * g.w, 0.0f);
    for (int i = 0; i < ho; ++i) {
        const float* dyr = dy + std::size_t(i) * wo;
        for (int kh = 0; kh < g.k; ++kh) {
            const int ih = i * s - p + kh;
            if (ih < 0 || ih >= g.h) continue;
            const std::size_t row = std::size_t(ih) * g.w;
            for (int kw = 0; kw < g.k; ++kw) {
                const int lo = g.j_lo(kw), hi = g.j_hi(kw), off = kw - p;
                if (dx) {
                    const float wv = w[kh * g.k + kw];
                    for (int j = lo; j < hi; ++j) dx[row + std::size_t(j * s + off)] += wv * dyr[j];
                }
                if (dw) {
                    float acc = 0.0f;
                    for (int j = lo; j < hi; ++j) acc += dyr[j] * x[row + std::size_t(j * s + off)];
                    dw[kh * g.k + kw] += acc;
                }
            }
        }
    }
}

// The op of a pointwise convolution C → Out on In (Out = Mult·C for dyn_expand).
template <class D, shape In, int Out, bool Bias>
struct pointwise_op : op_base<D, In> {
    static constexpr std::size_t hw = std::size_t(In.h) * std::size_t(In.w);
    static constexpr std::size_t weight_count = std::size_t(Out) * std::size_t(In.c);
    static constexpr std::size_t param_count = weight_count + (Bias ? Out : 0);
    static constexpr std::size_t in_size = In.size(), out_size = std::size_t(Out) * hw;

    static void init(float* w, float*, rng& g) {  // conv2d's: U(±1/√fan_in), weights then bias
        const float bound = 1.0f / std::sqrt(float(In.c));
        for (std::size_t i = 0; i < param_count; ++i) w[i] = g.uniform(-bound, bound);
    }
    static void forward(const context& c, const slots& s, const float* x, float* y) {
        const float* b = Bias ? s.w + weight_count : nullptr;
        parallel_for(c.pool, c.batch, [&](std::size_t n) {
            pointwise_forward(In.c, Out, hw, x + n * in_size, s.w, b, y + n * out_size);
        });
    }
    static void backward(const context& c, const slots& s, const float* x, const float*, const float* dy, float* dx) {
        if (dx)
            parallel_for(c.pool, c.batch, [&](std::size_t n) {
                pointwise_backward_data(In.c, Out, hw, dy + n * out_size, s.w, dx + n * in_size);
            });
        if (s.dw) pointwise_backward_weights(In.c, Out, hw, c.batch, x, dy, s.dw, Bias ? s.dw + weight_count : nullptr);
    }
};

}  // namespace detail

template <int Out, bool Bias = false>
struct dyn_pointwise {
    static_assert(Out > 0, "archetype::dyn_pointwise<Out>: Out must be positive");
    using twin = conv2d<Out, 1, 1, 0, 1, 1, Bias>;
    static constexpr shape output(shape in) { return twin::output(in); }
    static constexpr shape expected_input(shape in) { return twin::expected_input(in); }
    static constexpr cost cost_of(shape in) { return twin::cost_of(in); }
    static std::string spelling() { return "archetype::dyn_pointwise<" + spell_args(Out, Bias) + ">"; }

    template <shape In>
    struct op : detail::pointwise_op<dyn_pointwise, In, Out, Bias> {};
};

template <int Mult, bool Bias = false>
struct dyn_expand {
    static_assert(Mult > 0, "archetype::dyn_expand<Mult>: Mult must be positive");
    using twin = conv2d_times<Mult, 1, 1, 0, 1, Bias>;
    static constexpr shape output(shape in) { return twin::output(in); }
    static constexpr shape expected_input(shape in) { return twin::expected_input(in); }
    static constexpr cost cost_of(shape in) { return twin::cost_of(in); }
    static std::string spelling() { return "archetype::dyn_expand<" + spell_args(Mult, Bias) + ">"; }

    template <shape In>
    struct op : detail::pointwise_op<dyn_expand, In, Mult * In.c, Bias> {};
};

template <int K, int Stride = 1>
struct dyn_depthwise {
    static_assert(K > 0 && K % 2 == 1 && Stride > 0, "archetype::dyn_depthwise<K, Stride>: K odd, Stride positive");
    using twin = depthwise_conv2d<K, Stride, K / 2, 1, 1, false>;
    static constexpr shape output(shape in) { return twin::output(in); }
    static constexpr shape expected_input(shape in) { return twin::expected_input(in); }
    static constexpr cost cost_of(shape in) { return twin::cost_of(in); }
    static std::string spelling() { return "archetype::dyn_depthwise<" + spell_args(K, Stride) + ">"; }

    template <shape In>
    struct op : op_base<dyn_depthwise, In> {
        static constexpr detail::depthwise_geometry geo{In.h, In.w, K, Stride};
        static constexpr std::size_t plane = std::size_t(In.h) * In.w, out_plane = std::size_t(geo.ho()) * geo.wo();
        static constexpr std::size_t kk = std::size_t(K) * K;
        static constexpr std::size_t param_count = std::size_t(In.c) * kk;
        static_assert(op::out == shape{In.c, geo.ho(), geo.wo()}, "archetype: dyn_depthwise disagrees with its twin");

        static void init(float* w, float*, rng& g) {  // depthwise_conv2d's: fan_in = K·K
            const float bound = 1.0f / std::sqrt(float(kk));
            for (std::size_t i = 0; i < param_count; ++i) w[i] = g.uniform(-bound, bound);
        }
        static void forward(const context& c, const slots& s, const float* x, float* y) {
            parallel_for(c.pool, c.batch, [&](std::size_t n) {
                for (int ch = 0; ch < In.c; ++ch)
                    detail::depthwise_forward(geo, x + (n * In.c + ch) * plane, s.w + ch * kk,
                                              y + (n * In.c + ch) * out_plane);
            });
        }
        static void backward(const context& c, const slots& s, const float* x, const float*, const float* dy,
                             float* dx) {
            if (dx)
                parallel_for(c.pool, c.batch, [&](std::size_t n) {
                    for (int ch = 0; ch < In.c; ++ch)
                        detail::depthwise_backward(geo, x, s.w + ch * kk, dy + (n * In.c + ch) * out_plane,
                                                   dx + (n * In.c + ch) * plane, nullptr);
                });
            if (s.dw)
                parallel_for(c.pool, std::size_t(In.c), [&](std::size_t ch) {
                    for (std::size_t n = 0; n < c.batch; ++n)  // samples in order
                        detail::depthwise_backward(geo, x + (n * In.c + ch) * plane, s.w + ch * kk,
                                                   dy + (n * In.c + ch) * out_plane, nullptr, s.dw + ch * kk);
                });
        }
    };
};

}  // namespace archetype
