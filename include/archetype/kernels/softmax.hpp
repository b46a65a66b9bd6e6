// archetype/kernels/softmax.hpp — softmax and softmax cross-entropy on raw row-major pointers.
//
// Contract: logits x [n][k], labels [n] each in [0, k) (the caller validates them; see train/loss.hpp).
//   softmax_forward:              p = softmax(x) row by row                      (overwrites p)
//   softmax_cross_entropy_rows:   loss[s] = log Σ_j exp(x[s][j]) − x[s][label[s]]  (overwrites loss)
//                                 dx = scale · (softmax(x) − onehot(label))     (overwrites dx; dx may be null)
// Every row subtracts its maximum before exponentiating, so large logits do not overflow; the row sums
// run in double. A row holding NaN or ±∞ gives a non-finite loss; the caller decides what that means.
// Rows are independent and sums run in index order, so results do not depend on threading.
#pragma once

#include <cmath>
#include <cstddef>

namespace archetype::kernels {

inline void softmax_forward(const float* x, float* p, std::size_t n, std::size_t k) {
    for (std::size_t s = 0; s < n; ++s) {
        const float* xs = x + s * k;
        float* ps = p + s * k;
        float m = xs[0];
        for (std::size_t j = 1; j < k; ++j) m = xs[j] > m ? xs[j] : m;
        double sum = 0.0;
        for (std::size_t j = 0; j < k; ++j) sum += std::exp(double(xs[j]) - double(m));
        for (std::size_t j = 0; j < k; ++j) ps[j] = float(std::exp(double(xs[j]) - double(m)) / sum);
    }
}

inline void softmax_cross_entropy_rows(const float* x, const int* labels, double* loss, float* dx, float scale,
                                       std::size_t n, std::size_t k) {
    for (std::size_t s = 0; s < n; ++s) {
        const float* xs = x + s * k;
        float m = xs[0];
        for (std::size_t j = 1; j < k; ++j) m = xs[j] > m ? xs[j] : m;
        double sum = 0.0;
        for (std::size_t j = 0; j < k; ++j) sum += std::exp(double(xs[j]) - double(m));
        const auto y = static_cast<std::size_t>(labels[s]);
        loss[s] = std::log(sum) - (double(xs[y]) - double(m));
        if (dx) {
            float* ds = dx + s * k;
            for (std::size_t j = 0; j < k; ++j) {
                const double p = std::exp(double(xs[j]) - double(m)) / sum;
                ds[j] = float(double(scale) * (p - (j == y ? 1.0 : 0.0)));
            }
        }
    }
}

}  // namespace archetype::kernels
