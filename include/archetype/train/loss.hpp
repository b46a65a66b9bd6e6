// archetype/train/loss.hpp — softmax cross-entropy of logits against class labels, and accuracy.
//
// Contract: logits are [n][k] row-major, labels are n class indices in [0, k). cross_entropy returns the
// mean loss over the batch (as torch.nn.functional.cross_entropy with reduction="mean") and, when
// dlogits is not null, writes its gradient dlogits = (softmax(logits) − target) / n, where the target is
// onehot(label), or with label_smoothing ε in [0, 1) (1 − ε)·onehot(label) + ε/k (torch's label_smoothing;
// any other ε throws). It is
// numerically stable (each row's maximum is subtracted before exponentiating) and sums in double in
// sample order. A label outside [0, k) or a non-finite loss throws archetype::error naming the sample.
// argmax returns the first index of the row's maximum (as torch.argmax); NaN entries lose to any number.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>

#include "archetype/core/error.hpp"
#include "archetype/kernels/softmax.hpp"

namespace archetype {

inline void check_labels(const int* labels, std::size_t n, std::size_t k) {
    for (std::size_t s = 0; s < n; ++s) {
        if (labels[s] < 0 || std::size_t(labels[s]) >= k)
            throw error("cross-entropy: label " + std::to_string(labels[s]) + " of sample " + std::to_string(s) +
                        " of the batch is outside [0, " + std::to_string(k) + "): the network has " +
                        std::to_string(k) + " outputs, so labels must be class indices 0.." +
                        std::to_string(k - 1) + "; give the network as many outputs as the data has classes");
    }
}

inline void check_label_smoothing(float eps) {
    if (!(eps >= 0.0f && eps < 1.0f))
        throw error("cross-entropy: label smoothing " + std::to_string(eps) +
                    " is outside [0, 1); use 0 for one-hot targets or a small value such as 0.1");
}

// Mean softmax cross-entropy of logits [n][k]; writes (softmax − target) / n into dlogits if not null.
inline double cross_entropy(const float* logits, const int* labels, std::size_t n, std::size_t k,
                            float* dlogits = nullptr, float label_smoothing = 0.0f) {
    if (n == 0) throw error("cross-entropy: the batch is empty; pass at least one sample");
    if (k == 0) throw error("cross-entropy: the logits have no classes (k = 0); the network needs outputs");
    check_labels(labels, n, k);
    check_label_smoothing(label_smoothing);
    const float scale = 1.0f / float(n);
    double total = 0.0;
    for (std::size_t s = 0; s < n; ++s) {
        double l = 0.0;
        kernels::softmax_cross_entropy_rows(logits + s * k, labels + s, &l, dlogits ? dlogits + s * k : nullptr,
                                            scale, 1, k, label_smoothing);
        if (!std::isfinite(l))
            throw error("cross-entropy: the loss of sample " + std::to_string(s) +
                        " of the batch is not finite (its logits hold NaN or infinity); training diverged: "
                        "lower the learning rate, or check the inputs for NaN");
        total += l;
    }
    return total / double(n);
}

inline double cross_entropy(std::span<const float> logits, std::span<const int> labels,
                            std::span<float> dlogits = {}, float label_smoothing = 0.0f) {
    if (labels.empty() || logits.size() % labels.size() != 0)
        throw error("cross-entropy: " + std::to_string(logits.size()) + " logits do not split into " +
                    std::to_string(labels.size()) + " equal rows; pass [n][k] logits for n labels");
    if (!dlogits.empty() && dlogits.size() != logits.size())
        throw error("cross-entropy: dlogits holds " + std::to_string(dlogits.size()) + " values but the logits " +
                    std::to_string(logits.size()) + "; pass a gradient buffer of the logits' size or none");
    return cross_entropy(logits.data(), labels.data(), labels.size(), logits.size() / labels.size(),
                         dlogits.empty() ? nullptr : dlogits.data(), label_smoothing);
}

// Index of the first maximum of row[0..k).
inline std::size_t argmax(const float* row, std::size_t k) {
    std::size_t best = 0;
    for (std::size_t j = 1; j < k; ++j)
        if (row[j] > row[best] || std::isnan(row[best])) best = j;
    return best;
}

// Number of rows of logits [n][k] whose argmax equals the label.
inline std::size_t count_correct(const float* logits, const int* labels, std::size_t n, std::size_t k) {
    std::size_t c = 0;
    for (std::size_t s = 0; s < n; ++s)
        if (labels[s] >= 0 && argmax(logits + s * k, k) == std::size_t(labels[s])) ++c;
    return c;
}

inline double accuracy(const float* logits, const int* labels, std::size_t n, std::size_t k) {
    return n == 0 ? 0.0 : double(count_correct(logits, labels, n, k)) / double(n);
}

}  // namespace archetype
