// archetype/estimate/statistics.hpp — how well an estimate ranks and predicts: rank correlation, error
// measures and a least-squares linear model.
//
// Contract (all in double, deterministic, inputs never changed):
//   ranks(v)            1-based ranks, ties get the mean of the ranks they span (as scipy.stats.rankdata).
//   pearson(a, b)       the correlation coefficient; NaN when either side is constant.
//   spearman(a, b)      pearson of the ranks (tie-corrected Spearman's rho, as scipy.stats.spearmanr).
//   mape(truth, pred)   mean |pred − truth| / |truth|, as a fraction (0.05 = 5%); a zero truth is an error.
//   linear_model        fit(rows, targets): ordinary least squares with an intercept, y ≈ b0 + Σ b_j x_j,
//                       solved on standardized features (Householder QR) so feature scales from 1 to 1e9
//                       do not matter; a constant feature gets weight 0. predict(x) applies it.
//                       fit(rows, targets, weights) minimizes Σ w_i (y_i − ŷ_i)² instead (w_i > 0), e.g.
//                       w_i = 1/y_i² for the least relative error.
// Mismatched sizes, too few samples (fewer than features + 1 for a fit, fewer than 2 for a correlation)
// and non-finite inputs throw archetype::error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "archetype/core/error.hpp"

namespace archetype {

namespace detail {
inline void check_same_size(std::size_t a, std::size_t b, const char* what) {
    if (a != b)
        throw error(std::string(what) + ": the two series have " + std::to_string(a) + " and " + std::to_string(b) +
                    " values; pass one value per item on both sides");
    if (a < 2) throw error(std::string(what) + ": needs at least 2 values, got " + std::to_string(a));
}
inline void check_finite(const std::vector<double>& v, const char* what) {
    for (std::size_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(v[i]))
            throw error(std::string(what) + ": value " + std::to_string(i) + " is not finite; drop it first");
}
}  // namespace detail

inline std::vector<double> ranks(const std::vector<double>& v) {
    detail::check_finite(v, "ranks");
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
        const double mean_rank = double(i + j) / 2.0 + 1.0;
        for (std::size_t k = i; k <= j; ++k) r[order[k]] = mean_rank;
        i = j + 1;
    }
    return r;
}

inline double pearson(const std::vector<double>& a, const std::vector<double>& b) {
    detail::check_same_size(a.size(), b.size(), "pearson");
    detail::check_finite(a, "pearson");
    detail::check_finite(b, "pearson");
    const double n = double(a.size());
    const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n, mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    if (saa == 0 || sbb == 0) return std::numeric_limits<double>::quiet_NaN();
    return sab / std::sqrt(saa * sbb);
}

inline double spearman(const std::vector<double>& a, const std::vector<double>& b) {
    detail::check_same_size(a.size(), b.size(), "spearman");
    return pearson(ranks(a), ranks(b));
}

inline double mape(const std::vector<double>& truth, const std::vector<double>& pred) {
    detail::check_same_size(truth.size(), pred.size(), "mape");
    detail::check_finite(truth, "mape");
    detail::check_finite(pred, "mape");
    double s = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        if (truth[i] == 0) throw error("mape: true value " + std::to_string(i) + " is 0; the percentage is undefined");
        s += std::fabs(pred[i] - truth[i]) / std::fabs(truth[i]);
    }
    return s / double(truth.size());
}

class linear_model {
public:
    linear_model() = default;

    // rows[i] holds the features of sample i (all rows of one length), targets[i] its value.
    void fit(const std::vector<std::vector<double>>& rows, const std::vector<double>& targets,
             const std::vector<double>& weights = {}) {
        const std::size_t n = rows.size(), f = rows.empty() ? 0 : rows[0].size();
        if (!weights.empty() && weights.size() != n)
            throw error("linear_model: " + std::to_string(n) + " feature rows but " + std::to_string(weights.size()) +
                        " weights; pass one weight per row, or none");
        for (std::size_t i = 0; i < weights.size(); ++i)
            if (!(weights[i] > 0) || !std::isfinite(weights[i]))
                throw error("linear_model: weight " + std::to_string(i) + " is not a finite number > 0");
        if (targets.size() != n)
            throw error("linear_model: " + std::to_string(n) + " feature rows but " + std::to_string(targets.size()) +
                        " targets; pass one target per row");
        if (n < f + 1)
            throw error("linear_model: " + std::to_string(n) + " samples cannot fit " + std::to_string(f) +
                        " features and an intercept; measure at least " + std::to_string(f + 1));
        detail::check_finite(targets, "linear_model targets");
        mean_.assign(f, 0.0);
        scale_.assign(f, 0.0);
        for (const auto& r : rows) {
            if (r.size() != f) throw error("linear_model: feature rows differ in length; give every row the same features");
            detail::check_finite(r, "linear_model features");
            for (std::size_t j = 0; j < f; ++j) mean_[j] += r[j] / double(n);
        }
        for (const auto& r : rows)
            for (std::size_t j = 0; j < f; ++j) scale_[j] += (r[j] - mean_[j]) * (r[j] - mean_[j]);
        for (double& s : scale_) s = std::sqrt(s / double(n));
        // Design matrix A (n × (f+1)) column-major: intercept, then standardized features.
        const std::size_t m = f + 1;
        std::vector<double> a(n * m), y = targets;
        for (std::size_t i = 0; i < n; ++i) {
            a[i] = 1.0;
            for (std::size_t j = 0; j < f; ++j)
                a[(j + 1) * n + i] = scale_[j] > 0 ? (rows[i][j] - mean_[j]) / scale_[j] : 0.0;
        }
        if (!weights.empty()) {  // row i of A and y scaled by √w_i: plain least squares is then the weighted
            // one; weights normalized to mean 1 first (same solution) so the rank test below keeps its scale
            const double mean_w = std::accumulate(weights.begin(), weights.end(), 0.0) / double(n);
            for (std::size_t i = 0; i < n; ++i) {
                const double s = std::sqrt(weights[i] / mean_w);
                for (std::size_t k = 0; k < m; ++k) a[k * n + i] *= s;
                y[i] *= s;
            }
        }
        // Householder QR, applied to y as it goes. A column with no norm left below the rows already
        // used (constant, or a combination of earlier columns) is dropped: its weight stays 0.
        std::vector<std::size_t> pivot(m, n);  // the row of each used column's diagonal; n = dropped
        std::size_t r = 0;
        for (std::size_t k = 0; k < m && r < n; ++k) {
            double* col = a.data() + k * n;
            double norm = 0;
            for (std::size_t i = r; i < n; ++i) norm += col[i] * col[i];
            norm = std::sqrt(norm);
            if (norm <= 1e-9 * std::sqrt(double(n))) continue;
            const double alpha = col[r] > 0 ? -norm : norm;
            std::vector<double> v(col + r, col + n);
            v[0] -= alpha;
            double vv = 0;
            for (double x : v) vv += x * x;
            auto reflect = [&](double* c) {
                double d = 0;
                for (std::size_t i = r; i < n; ++i) d += v[i - r] * c[i];
                d = 2 * d / vv;
                for (std::size_t i = r; i < n; ++i) c[i] -= d * v[i - r];
            };
            for (std::size_t c = k; c < m; ++c) reflect(a.data() + c * n);
            reflect(y.data());
            pivot[k] = r++;
        }
        coef_.assign(m, 0.0);
        for (std::size_t k = m; k-- > 0;) {
            if (pivot[k] == n) continue;
            double s = y[pivot[k]];
            for (std::size_t c = k + 1; c < m; ++c) s -= a[c * n + pivot[k]] * coef_[c];
            coef_[k] = s / a[k * n + pivot[k]];
        }
    }

    bool fitted() const { return !coef_.empty(); }
    std::size_t features() const { return mean_.size(); }

    double predict(const std::vector<double>& x) const {
        if (!fitted()) throw error("linear_model: predict before fit; fit it on measured samples first");
        if (x.size() != mean_.size())
            throw error("linear_model: predict got " + std::to_string(x.size()) + " features, the model has " +
                        std::to_string(mean_.size()));
        double s = coef_[0];
        for (std::size_t j = 0; j < x.size(); ++j)
            if (scale_[j] > 0) s += coef_[j + 1] * (x[j] - mean_[j]) / scale_[j];
        return s;
    }

private:
    std::vector<double> mean_, scale_, coef_;  // coef_[0] is the intercept (standardized space)
};

}  // namespace archetype
