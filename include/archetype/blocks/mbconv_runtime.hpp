// archetype/blocks/mbconv_runtime.hpp — one MBConv (inverted residual) with its geometry at run time.
//
// Contract: detail::mbconv_plan describes mbconv<Out, K, Stride, Expand, Act> on an input {C, H, W}
// (blocks/mbconv.hpp): hidden = Expand·C channels, expand 1×1 + BN + Act (left out when Expand == 1),
// depthwise K×K stride Stride pad K/2 + BN + Act, project 1×1 + BN, skip when Stride == 1 and C == Out.
// mbconv_forward<Fn> / mbconv_backward<Fn> (Fn: the activation's kernel functor) compute exactly
// what that block's layers compute, in the same order, reading the parameters and state in the
// block's own layout (param_offsets / state_offsets: its leaves back to back) — batch norm follows
// layers/batchnorm.hpp (training: batch statistics and running-statistics update; inference: running
// statistics), convolutions follow blocks/dyn_conv.hpp. One compiled function serves every kernel
// size, expand ratio and shape, which is what space/elastic_mbconv.hpp builds on. The workspace
// (work_floats) holds every intermediate of the last forward for backward, the batch-norm statistics
// and two gradient buffers. Results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "archetype/blocks/dyn_conv.hpp"
#include "archetype/kernels/batchnorm.hpp"
#include "archetype/kernels/eltwise.hpp"
#include "archetype/layers/batchnorm.hpp"

namespace archetype::detail {

struct mbconv_plan {
    std::size_t c, h, w, out, k, stride, expand;
    constexpr std::size_t hidden() const { return expand * c; }
    constexpr std::size_t ho() const { return (h - 1) / stride + 1; }  // pad K/2, odd K
    constexpr std::size_t wo() const { return (w - 1) / stride + 1; }
    constexpr std::size_t in_plane() const { return h * w; }
    constexpr std::size_t out_plane() const { return ho() * wo(); }
    constexpr bool has_expand() const { return expand != 1; }
    constexpr bool skip() const { return stride == 1 && c == out; }

    struct offsets {
        std::size_t expand_w, bn1, dw, bn2, project_w, bn3, total;
    };
    // Parameters: [expand W (hidden×C), BN1 γβ] (when expanding), dw W (hidden×K²), BN2 γβ,
    // project W (Out×hidden), BN3 γβ.
    constexpr offsets param_offsets() const {
        const std::size_t hd = hidden();
        offsets o{};
        std::size_t at = 0;
        if (has_expand()) {
            o.expand_w = at, at += hd * c;
            o.bn1 = at, at += 2 * hd;
        }
        o.dw = at, at += hd * k * k;
        o.bn2 = at, at += 2 * hd;
        o.project_w = at, at += out * hd;
        o.bn3 = at, at += 2 * out;
        o.total = at;
        return o;
    }
    // State: running mean and variance of BN1 (when expanding), BN2, BN3.
    constexpr offsets state_offsets() const {
        const std::size_t hd = hidden();
        offsets o{};
        std::size_t at = 0;
        if (has_expand()) o.bn1 = at, at += 2 * hd;
        o.bn2 = at, at += 2 * hd;
        o.bn3 = at, at += 2 * out;
        o.total = at;
        return o;
    }
    // Workspace: 3 hidden-in buffers (expand, BN1, Act), 3 hidden-out (dw, BN2, Act), 2 out (project,
    // BN3), 2 gradient buffers of the largest hidden size and one of the output size, BN statistics.
    constexpr std::size_t work_floats(std::size_t n) const {
        const std::size_t hin = n * hidden() * in_plane(), hout = n * hidden() * out_plane();
        const std::size_t o = n * out * out_plane();
        return 3 * hin + 3 * hout + 2 * o + 2 * std::max(hin, hout) + o + 4 * hidden() + 2 * out;
    }
};

// Batch norm over `channels` channels of `plane` values each, as layers/batchnorm.hpp.
struct bn_args {
    std::size_t channels, plane, batch;
    const float* w;  // γ then β
    float* state;    // running mean then running variance
    float* stats;    // mean then 1/√(var + eps) of this forward (2·channels)
};
inline void bn_forward(const bn_args& a, bool training, thread_pool* pool, const float* x, float* y) {
    const std::size_t stride = a.channels * a.plane, count = a.batch * a.plane;
    if (training && count < 2)
        throw error("batch_norm inside an MBConv: expected more than 1 value per channel when training, got " +
                    std::to_string(count) + "; train with a batch of at least 2 samples");
    constexpr float eps = batch_norm::eps;
    const double mom = double(batch_norm::momentum);
    float* mean = a.stats;
    float* inv_std = a.stats + a.channels;
    parallel_for(a.batch * stride >= batch_norm::parallel_threshold ? pool : nullptr, a.channels, [&](std::size_t ch) {
        const float* xc = x + ch * a.plane;
        if (training) {
            const auto m = kernels::batchnorm_moments(xc, a.batch, stride, a.plane);
            mean[ch] = float(m.mean);
            inv_std[ch] = float(1.0 / std::sqrt(m.var + double(eps)));
            const double unbiased = m.var * double(count) / double(count - 1);
            a.state[ch] = float(mom * m.mean + (1.0 - mom) * double(a.state[ch]));
            a.state[a.channels + ch] = float(mom * unbiased + (1.0 - mom) * double(a.state[a.channels + ch]));
        } else {
            mean[ch] = a.state[ch];
            inv_std[ch] = float(1.0 / std::sqrt(double(a.state[a.channels + ch]) + double(eps)));
        }
        const float scale = a.w[ch] * inv_std[ch];
        kernels::batchnorm_affine(xc, y + ch * a.plane, a.batch, stride, a.plane, scale,
                                  a.w[a.channels + ch] - mean[ch] * scale);
    });
}
inline void bn_backward(const bn_args& a, bool training, thread_pool* pool, const float* x, const float* dy,
                        float* dx, float* dw) {
    const std::size_t stride = a.channels * a.plane;
    const float* mean = a.stats;
    const float* inv_std = a.stats + a.channels;
    parallel_for(a.batch * stride >= batch_norm::parallel_threshold ? pool : nullptr, a.channels, [&](std::size_t ch) {
        const std::size_t at = ch * a.plane;
        kernels::channel_grad_sums sums;
        if (dw || training) sums = kernels::batchnorm_grad_sums(x + at, dy + at, a.batch, stride, a.plane, mean[ch]);
        if (dw) {
            dw[ch] += float(sums.dy_xmu * double(inv_std[ch]));
            dw[a.channels + ch] += float(sums.dy);
        }
        if (training)
            kernels::batchnorm_backward_train(x + at, dy + at, dx + at, a.batch, stride, a.plane, mean[ch], inv_std[ch],
                                              a.w[ch], sums);
        else
            kernels::batchnorm_affine(dy + at, dx + at, a.batch, stride, a.plane, a.w[ch] * inv_std[ch], 0.0f);
    });
}

// Where each intermediate lives in the workspace.
struct mbconv_buffers {
    float *e, *b1, *a1, *d, *b2, *a2, *p, *b3, *g0, *g1, *go, *stats;
    mbconv_buffers(const mbconv_plan& q, std::size_t n, float* work) {
        const std::size_t hin = n * q.hidden() * q.in_plane(), hout = n * q.hidden() * q.out_plane();
        const std::size_t o = n * q.out * q.out_plane(), g = std::max(hin, hout);
        e = work, b1 = e + hin, a1 = b1 + hin, d = a1 + hin, b2 = d + hout, a2 = b2 + hout, p = a2 + hout;
        b3 = p + o, g0 = b3 + o, g1 = g0 + g, go = g1 + g, stats = go + o;
    }
};

template <class Fn>
void eltwise_batch(thread_pool* pool, std::size_t n, std::size_t per_sample, const float* x, float* y) {
    parallel_for(n * per_sample >= (1u << 14) ? pool : nullptr, n, [&](std::size_t s) {
        kernels::eltwise_forward<Fn>(x + s * per_sample, y + s * per_sample, per_sample);
    });
}
template <class Fn>
void eltwise_batch_backward(thread_pool* pool, std::size_t n, std::size_t per_sample, const float* x, const float* y,
                            const float* dy, float* dx) {
    parallel_for(n * per_sample >= (1u << 14) ? pool : nullptr, n, [&](std::size_t s) {
        const std::size_t o = s * per_sample;
        kernels::eltwise_backward<Fn>(x + o, y + o, dy + o, dx + o, per_sample);
    });
}

inline void depthwise_batch(const context& c, const mbconv_plan& q, const float* x, const float* w, float* y) {
    const depthwise_geometry geo{int(q.h), int(q.w), int(q.k), int(q.stride)};
    const std::size_t hd = q.hidden(), kk = q.k * q.k;
    parallel_for(c.pool, c.batch, [&](std::size_t n) {
        for (std::size_t ch = 0; ch < hd; ++ch)
            depthwise_forward(geo, x + (n * hd + ch) * q.in_plane(), w + ch * kk, y + (n * hd + ch) * q.out_plane());
    });
}

template <class Fn>
void mbconv_forward(const context& c, const mbconv_plan& q, const slots& s, const float* x, float* y) {
    const std::size_t n = c.batch, hd = q.hidden();
    const auto po = q.param_offsets(), so = q.state_offsets();
    mbconv_buffers b(q, n, s.work);
    const float* dw_in = x;
    if (q.has_expand()) {
        parallel_for(c.pool, n, [&](std::size_t i) {
            pointwise_forward(int(q.c), int(hd), q.in_plane(), x + i * q.c * q.in_plane(), s.w + po.expand_w, nullptr,
                              b.e + i * hd * q.in_plane());
        });
        bn_forward({hd, q.in_plane(), n, s.w + po.bn1, s.state + so.bn1, b.stats}, c.training, c.pool, b.e, b.b1);
        eltwise_batch<Fn>(c.pool, n, hd * q.in_plane(), b.b1, b.a1);
        dw_in = b.a1;
    }
    depthwise_batch(c, q, dw_in, s.w + po.dw, b.d);
    bn_forward({hd, q.out_plane(), n, s.w + po.bn2, s.state + so.bn2, b.stats + 2 * hd}, c.training, c.pool, b.d, b.b2);
    eltwise_batch<Fn>(c.pool, n, hd * q.out_plane(), b.b2, b.a2);
    parallel_for(c.pool, n, [&](std::size_t i) {
        pointwise_forward(int(hd), int(q.out), q.out_plane(), b.a2 + i * hd * q.out_plane(), s.w + po.project_w,
                          nullptr, b.p + i * q.out * q.out_plane());
    });
    bn_forward({q.out, q.out_plane(), n, s.w + po.bn3, s.state + so.bn3, b.stats + 4 * hd}, c.training, c.pool, b.p,
               q.skip() ? b.b3 : y);
    if (q.skip()) {  // sum<identity, body>: y = x + body(x), in that order
        const std::size_t len = n * q.out * q.out_plane();
        for (std::size_t i = 0; i < len; ++i) y[i] = x[i] + b.b3[i];
    }
}

template <class Fn>
void mbconv_backward(const context& c, const mbconv_plan& q, const slots& s, const float* x, const float* dy,
                     float* dx) {
    const std::size_t n = c.batch, hd = q.hidden();
    const auto po = q.param_offsets();
    mbconv_buffers b(q, n, s.work);
    float* dw = s.dw;
    auto grad = [&](std::size_t off) { return dw ? dw + off : nullptr; };
    // project BN, project 1×1
    bn_backward({q.out, q.out_plane(), n, s.w + po.bn3, nullptr, b.stats + 4 * hd}, c.training, c.pool, b.p, dy, b.go,
                grad(po.bn3));
    if (dw) pointwise_backward_weights(int(hd), int(q.out), q.out_plane(), n, b.a2, b.go, dw + po.project_w, nullptr);
    parallel_for(c.pool, n, [&](std::size_t i) {
        pointwise_backward_data(int(hd), int(q.out), q.out_plane(), b.go + i * q.out * q.out_plane(),
                                s.w + po.project_w, b.g0 + i * hd * q.out_plane());
    });
    // Act, BN2, depthwise
    eltwise_batch_backward<Fn>(c.pool, n, hd * q.out_plane(), b.b2, b.a2, b.g0, b.g1);
    bn_backward({hd, q.out_plane(), n, s.w + po.bn2, nullptr, b.stats + 2 * hd}, c.training, c.pool, b.d, b.g1, b.g0,
                grad(po.bn2));
    const depthwise_geometry geo{int(q.h), int(q.w), int(q.k), int(q.stride)};
    const std::size_t kk = q.k * q.k;
    const float* dw_in = q.has_expand() ? b.a1 : x;
    float* g_dw_in = q.has_expand() ? b.g1 : dx;
    if (g_dw_in)
        parallel_for(c.pool, n, [&](std::size_t i) {
            for (std::size_t ch = 0; ch < hd; ++ch)
                depthwise_backward(geo, nullptr, s.w + po.dw + ch * kk, b.g0 + (i * hd + ch) * q.out_plane(),
                                   g_dw_in + (i * hd + ch) * q.in_plane(), nullptr);
        });
    if (dw)
        parallel_for(c.pool, hd, [&](std::size_t ch) {
            for (std::size_t i = 0; i < n; ++i)  // samples in order
                depthwise_backward(geo, dw_in + (i * hd + ch) * q.in_plane(), nullptr,
                                   b.g0 + (i * hd + ch) * q.out_plane(), nullptr, dw + po.dw + ch * kk);
        });
    if (q.has_expand()) {  // Act, BN1, expand 1×1
        eltwise_batch_backward<Fn>(c.pool, n, hd * q.in_plane(), b.b1, b.a1, b.g1, b.g0);
        bn_backward({hd, q.in_plane(), n, s.w + po.bn1, nullptr, b.stats}, c.training, c.pool, b.e, b.g0, b.g1,
                    grad(po.bn1));
        if (dw) pointwise_backward_weights(int(q.c), int(hd), q.in_plane(), n, x, b.g1, dw + po.expand_w, nullptr);
        if (dx)
            parallel_for(c.pool, n, [&](std::size_t i) {
                pointwise_backward_data(int(q.c), int(hd), q.in_plane(), b.g1 + i * hd * q.in_plane(),
                                        s.w + po.expand_w, dx + i * q.c * q.in_plane());
            });
    }
    if (dx && q.skip()) {
        const std::size_t len = n * q.c * q.in_plane();
        for (std::size_t i = 0; i < len; ++i) dx[i] += dy[i];
    }
}

}  // namespace archetype::detail
