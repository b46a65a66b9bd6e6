// archetype/kernels/batchnorm.hpp — per-channel batch-normalisation kernels on raw pointers.
//
// Contract: every function works on ONE channel of an NCHW batch. `x` points at that channel's first
// value in sample 0; a sample's block of `spatial` (= H·W) contiguous values follows, and the next
// sample's block starts `stride` (= C·H·W) floats later. `count` below is batch·spatial.
//   batchnorm_moments      mean and biased variance of the channel (two passes, in double)
//   batchnorm_affine       y = x·scale + shift                          (overwrites y)
//   batchnorm_grad_sums    Σ dy and Σ dy·(x − mean), in double
//   batchnorm_backward_train
//       dx = (dy − Σdy/count − (x − mean)·k)·inv_std·gamma, with k = Σdy·(x − mean)·inv_std²/count:
//       the gradient through the batch mean and variance (overwrites dx)
// Sums run in a fixed order (samples in order, four interleaved partial sums per block), so results
// do not depend on how channels are spread over threads.
#pragma once

#include <cstddef>

namespace archetype::kernels {

// Σ_{i<n} f(i) in double, in a fixed order with four independent partial sums (vectorisable).
template <class F>
double sum_in_order(std::size_t n, F f) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    std::size_t i = 0;
    for (const std::size_t n4 = n / 4 * 4; i < n4; i += 4) {  // (i + 4 <= n trips a g++ 12 false
                                                              // -Waggressive-loop-optimizations)
        a0 += f(i);
        a1 += f(i + 1);
        a2 += f(i + 2);
        a3 += f(i + 3);
    }
    for (; i < n; ++i) a0 += f(i);
    return (a0 + a1) + (a2 + a3);
}

struct channel_moments {
    double mean = 0;
    double var = 0;  // biased: Σ(x − mean)² / count
};

inline channel_moments batchnorm_moments(const float* x, std::size_t batch, std::size_t stride,
                                         std::size_t spatial) {
    const double count = double(batch * spatial);
    double sum = 0;
    for (std::size_t n = 0; n < batch; ++n) {
        const float* xs = x + n * stride;
        sum += sum_in_order(spatial, [xs](std::size_t i) { return double(xs[i]); });
    }
    const double mean = sum / count;
    double sq = 0;
    for (std::size_t n = 0; n < batch; ++n) {
        const float* xs = x + n * stride;
        sq += sum_in_order(spatial, [xs, mean](std::size_t i) {
            const double d = double(xs[i]) - mean;
            return d * d;
        });
    }
    return {mean, sq / count};
}

inline void batchnorm_affine(const float* x, float* y, std::size_t batch, std::size_t stride, std::size_t spatial,
                             float scale, float shift) {
    for (std::size_t n = 0; n < batch; ++n) {
        const float* xs = x + n * stride;
        float* ys = y + n * stride;
        for (std::size_t i = 0; i < spatial; ++i) ys[i] = xs[i] * scale + shift;
    }
}

struct channel_grad_sums {
    double dy = 0;       // Σ dy
    double dy_xmu = 0;   // Σ dy·(x − mean)
};

inline channel_grad_sums batchnorm_grad_sums(const float* x, const float* dy, std::size_t batch, std::size_t stride,
                                             std::size_t spatial, float mean) {
    channel_grad_sums s;
    for (std::size_t n = 0; n < batch; ++n) {
        const float* xs = x + n * stride;
        const float* gs = dy + n * stride;
        s.dy += sum_in_order(spatial, [gs](std::size_t i) { return double(gs[i]); });
        s.dy_xmu += sum_in_order(spatial, [xs, gs, mean](std::size_t i) { return double(gs[i]) * (xs[i] - mean); });
    }
    return s;
}

inline void batchnorm_backward_train(const float* x, const float* dy, float* dx, std::size_t batch,
                                     std::size_t stride, std::size_t spatial, float mean, float inv_std, float gamma,
                                     const channel_grad_sums& sums) {
    const double count = double(batch * spatial);
    const float mean_dy = float(sums.dy / count);
    const float k = float(sums.dy_xmu * double(inv_std) * double(inv_std) / count);
    const float scale = inv_std * gamma;
    for (std::size_t n = 0; n < batch; ++n) {
        const float* xs = x + n * stride;
        const float* gs = dy + n * stride;
        float* ds = dx + n * stride;
        for (std::size_t i = 0; i < spatial; ++i) ds[i] = (gs[i] - mean_dy - (xs[i] - mean) * k) * scale;
    }
}

}  // namespace archetype::kernels
