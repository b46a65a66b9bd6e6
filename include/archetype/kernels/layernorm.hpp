// archetype/kernels/layernorm.hpp — layer normalisation over the channels of each token, on raw pointers.
//
// Contract: one sample is x [D][T] (channel-major: D channels, T tokens, token t of channel d at d·T + t,
// the layout of shape{D, T, 1} and of NCHW with T = H·W). Each token is normalised over its D channels:
//     x̂[d][t] = (x[d][t] − mean_t)·rstd_t,  rstd_t = 1/√(var_t + eps)  (biased variance over d)
//     y[d][t] = γ[d]·x̂[d][t] + β[d]
// The kernels work on this layout directly (no transposes): loops run over d outside and over t inside,
// so the inner loops are contiguous. `stats` of a sample is [2][T]: mean_t, then rstd_t.
//   layernorm_forward          y and stats of one sample                                 (overwrites)
//   layernorm_backward_data    dx = rstd·(g − mean_d g − x̂·mean_d(g·x̂)), g = γ·dy, one sample
//                              (overwrites dx; `sums` is 2T floats of scratch)
//   layernorm_backward_params  dγ[d] += Σ_n Σ_t dy·x̂, dβ[d] += Σ_n Σ_t dy for channels [d0, d1) of a
//                              batch of n samples stored back to back (samples in order, so the result
//                              does not depend on how the channels are spread over threads)
// Mean and variance use two passes (the variance sums centred squares), in float.
#pragma once

#include <cmath>
#include <cstddef>

namespace archetype::kernels {

inline void layernorm_forward(const float* x, const float* gamma, const float* beta, float* y, float* stats,
                              std::size_t d_count, std::size_t t_count, float eps) {
    float* mean = stats;
    float* rstd = stats + t_count;
    for (std::size_t t = 0; t < t_count; ++t) mean[t] = rstd[t] = 0.0f;
    for (std::size_t d = 0; d < d_count; ++d) {
        const float* xd = x + d * t_count;
        for (std::size_t t = 0; t < t_count; ++t) mean[t] += xd[t];
    }
    const float inv_d = 1.0f / float(d_count);
    for (std::size_t t = 0; t < t_count; ++t) mean[t] *= inv_d;
    for (std::size_t d = 0; d < d_count; ++d) {
        const float* xd = x + d * t_count;
        for (std::size_t t = 0; t < t_count; ++t) {
            const float c = xd[t] - mean[t];
            rstd[t] += c * c;
        }
    }
    for (std::size_t t = 0; t < t_count; ++t) rstd[t] = 1.0f / std::sqrt(rstd[t] * inv_d + eps);
    for (std::size_t d = 0; d < d_count; ++d) {
        const float* xd = x + d * t_count;
        float* yd = y + d * t_count;
        const float g = gamma[d], b = beta[d];
        for (std::size_t t = 0; t < t_count; ++t) yd[t] = g * ((xd[t] - mean[t]) * rstd[t]) + b;
    }
}

inline void layernorm_backward_data(const float* x, const float* dy, const float* gamma, const float* stats,
                                    float* dx, float* sums, std::size_t d_count, std::size_t t_count) {
    const float* mean = stats;
    const float* rstd = stats + t_count;
    float* sum_g = sums;             // Σ_d γ·dy per token
    float* sum_gx = sums + t_count;  // Σ_d γ·dy·x̂ per token
    for (std::size_t t = 0; t < t_count; ++t) sum_g[t] = sum_gx[t] = 0.0f;
    for (std::size_t d = 0; d < d_count; ++d) {
        const float* xd = x + d * t_count;
        const float* dyd = dy + d * t_count;
        const float gam = gamma[d];
        for (std::size_t t = 0; t < t_count; ++t) {
            const float g = gam * dyd[t];
            sum_g[t] += g;
            sum_gx[t] += g * ((xd[t] - mean[t]) * rstd[t]);
        }
    }
    const float inv_d = 1.0f / float(d_count);
    for (std::size_t t = 0; t < t_count; ++t) {
        sum_g[t] *= inv_d;
        sum_gx[t] *= inv_d;
    }
    for (std::size_t d = 0; d < d_count; ++d) {
        const float* xd = x + d * t_count;
        const float* dyd = dy + d * t_count;
        float* dxd = dx + d * t_count;
        const float gam = gamma[d];
        for (std::size_t t = 0; t < t_count; ++t) {
            const float xhat = (xd[t] - mean[t]) * rstd[t];
            dxd[t] = rstd[t] * (gam * dyd[t] - sum_g[t] - xhat * sum_gx[t]);
        }
    }
}

// x, dy: n samples of [D][T] back to back; stats: n samples of [2][T] back to back.
inline void layernorm_backward_params(const float* x, const float* dy, const float* stats, float* dgamma,
                                      float* dbeta, std::size_t n, std::size_t d_count, std::size_t t_count,
                                      std::size_t d0, std::size_t d1) {
    const std::size_t sample = d_count * t_count;
    for (std::size_t d = d0; d < d1; ++d) {
        float g_acc = 0.0f, b_acc = 0.0f;
        for (std::size_t s = 0; s < n; ++s) {
            const float* xd = x + s * sample + d * t_count;
            const float* dyd = dy + s * sample + d * t_count;
            const float* mean = stats + s * 2 * t_count;
            const float* rstd = mean + t_count;
            for (std::size_t t = 0; t < t_count; ++t) {
                g_acc += dyd[t] * ((xd[t] - mean[t]) * rstd[t]);
                b_acc += dyd[t];
            }
        }
        dgamma[d] += g_acc;
        dbeta[d] += b_acc;
    }
}

}  // namespace archetype::kernels
