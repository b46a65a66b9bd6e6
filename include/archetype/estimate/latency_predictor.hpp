// archetype/estimate/latency_predictor.hpp — a linear latency predictor on lookup-table features.
//
// Contract:
// latency_predictor<Space>: a linear model fitted on measured whole-network latencies by least squares
//   on the relative error (weights 1/latency², as the error reported is MAPE), on the features
//   [lut_by_kind(g)..., leaves run] (the table's sums corrected per kind, plus a per-leaf overhead)
//   when the fit has at least per_kind_samples() = 2·(kinds + 2) samples, else on [lut(g), leaves run]
//   (per-kind factors overfit a dozen samples: 38% MAPE at 12 on the Fashion-MNIST space, 4.7% coarse).
// features(g) and coarse_features(g) are those two feature vectors; per_kind() says which the last fit
// used. fit(gs, us) needs one latency > 0 per genotype (else archetype::error), and at least
// features + 1 samples (linear_model's rule); predict(g) before fit throws archetype::error.
#pragma once

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "archetype/estimate/latency.hpp"
#include "archetype/estimate/statistics.hpp"

namespace archetype {

template <class Space>
class latency_predictor {
public:
    using genotype = typename Space::genotype;

    explicit latency_predictor(latency_table<Space> table) : table_(std::move(table)) {}

    // The per-kind features: [lut_by_kind(g)..., leaves run].
    std::vector<double> features(const genotype& g) const {
        std::vector<double> f = table_.lut_by_kind(g);
        f.push_back(double(detail::leaves_of<Space>(g).size()));
        return f;
    }
    // The coarse features: [lut(g), leaves run].
    std::vector<double> coarse_features(const genotype& g) const {
        return {table_.lut(g), double(detail::leaves_of<Space>(g).size())};
    }
    // Samples a fit needs to use the per-kind features (2 per coefficient); with fewer, the coarse.
    std::size_t per_kind_samples() const { return 2 * (table_.kinds().size() + 2); }

    // Fits on measured latencies (µs, > 0) of gs: at least 3.
    void fit(const std::vector<genotype>& gs, const std::vector<double>& us) {
        if (gs.size() != us.size())
            throw error("latency_predictor: " + std::to_string(gs.size()) + " genotypes but " +
                        std::to_string(us.size()) + " latencies; pass one measured latency per genotype");
        per_kind_ = gs.size() >= per_kind_samples();
        std::vector<std::vector<double>> rows;
        std::vector<double> w;
        for (std::size_t i = 0; i < gs.size(); ++i) {
            if (!(us[i] > 0) || !std::isfinite(us[i]))
                throw error("latency_predictor: latency " + std::to_string(i) + " is not a finite time > 0");
            rows.push_back(per_kind_ ? features(gs[i]) : coarse_features(gs[i]));
            w.push_back(1.0 / (us[i] * us[i]));
        }
        model_.fit(rows, us, w);
    }

    double predict(const genotype& g) const {
        return model_.predict(!model_.fitted() || per_kind_ ? features(g) : coarse_features(g));
    }
    bool fitted() const { return model_.fitted(); }
    bool per_kind() const { return per_kind_; }  // the last fit used the per-kind features
    const latency_table<Space>& table() const { return table_; }

private:
    latency_table<Space> table_;
    linear_model model_;
    bool per_kind_ = false;
};

}  // namespace archetype
