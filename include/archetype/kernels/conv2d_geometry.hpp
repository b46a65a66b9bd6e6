// archetype/kernels/conv2d_geometry.hpp — the geometry of a 2-D convolution and its reference loops.
//
// Contract: conv2d_geometry is a structural type (usable as a template argument): input c×h×w, `out`
// filters of size k×k, stride, zero padding `pad` on every side, dilation, groups. Output size:
// (h + 2·pad − dil·(k−1) − 1)/stride + 1 (floor), same for w. Layouts (one sample, NCHW): x [c][h][w],
// y [out][ho][wo], weight [out][c/groups][k][k] (PyTorch), bias [out] or null. Output channel o sees the
// input channels of its group g = o / (out/groups).
// kernels::reference holds plain loops with run-time geometry, straight from the definition, in double
// precision; the tests hold the fast kernels (conv2d.hpp, conv2d_depthwise.hpp) to them.
#pragma once

#include <algorithm>
#include <cstddef>

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

}  // namespace archetype::kernels

// Plain loops with run-time geometry, written from the definition (one sample; same contracts).
namespace archetype::kernels::reference {

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

}  // namespace archetype::kernels::reference
