// archetype/search/nsga2.hpp — NSGA-II, multi-objective evolution (Deb et al. 2002).
//
// Contract: the first ask is `population` (μ) genotypes: the `initial` ones given to the constructor
// (seeds such as the boundary members of the space, kept in their order; at most μ, each valid), then
// uniform samples (a sample equal to an earlier member of the batch is drawn again, up to 16 times,
// when seeds are given; without seeds the first ask is exactly μ uniform samples); once told, they are ranked by the
// constrained fast non-dominated sort (feasible dominates infeasible, the smaller violation dominates
// among infeasible) and given crowding distances per front. Each generation asks `offspring` (λ)
// children at once: each child takes two parents by binary tournament (two distinct members drawn
// uniformly; the lower rank wins, then the larger crowding distance, then the first drawn), is their
// uniform crossover with probability crossover_probability (else a copy of the first parent), and is
// then mutated in mutation_decisions decisions; a child equal to a population member or an earlier
// child of the generation is mutated again (up to 16 times) to keep the population diverse. When
// the generation is told, environmental selection is elitist (μ+λ): parents and children are sorted
// into fronts, whole fronts are kept while they fit, and the front that does not fit is cut by
// decreasing crowding distance (stable: ties keep parents before children). Rank and crowding of the
// survivors are those computed in the merged set. The budget counts every evaluation, the initial
// population included; a last generation cut short by the budget is still selected.
#pragma once

#include <numeric>

#include "archetype/search/strategy.hpp"

namespace archetype {

struct nsga2_options {
    std::size_t population = 20;                                             // μ
    std::size_t offspring = 0;                                               // λ (0: μ)
    std::size_t budget = 1000;                                               // evaluations, μ included
    std::vector<direction> directions{direction::maximize, direction::minimize};  // one per objective
    double crossover_probability = 0.9;
    std::size_t mutation_decisions = 1;
};

// The crowded-comparison operator: lower rank wins, then larger crowding distance.
inline bool crowded_better(std::size_t rank_a, double crowding_a, std::size_t rank_b, double crowding_b) {
    return rank_a != rank_b ? rank_a < rank_b : crowding_a > crowding_b;
}

template <class Space>
class nsga2 : public strategy<Space> {
    using base = strategy<Space>;

public:
    using typename base::genotype;

    explicit nsga2(nsga2_options o, seed s = {}, std::vector<genotype> initial = {})
        : base("nsga2", o.directions, o.budget, s), o_(std::move(o)), initial_(std::move(initial)) {
        if (o_.population == 0) throw error("nsga2: population is 0; use at least 2 (typically 20 to 100)");
        if (initial_.size() > o_.population)
            throw error("nsga2: " + std::to_string(initial_.size()) + " initial genotypes for a population of " +
                        std::to_string(o_.population) + "; give at most population seeds");
        for (const genotype& g : initial_)
            if constexpr (requires { Space::validate(g); }) Space::validate(g);
        if (o_.offspring == 0) o_.offspring = o_.population;
        if (!(o_.crossover_probability >= 0 && o_.crossover_probability <= 1))
            throw error("nsga2: crossover_probability is " + std::to_string(o_.crossover_probability) +
                        "; it must be in [0, 1]");
    }

    // History indices of the current population, and each member's rank (0 = first front) and crowding.
    const std::vector<std::size_t>& population() const { return population_; }
    const std::vector<std::size_t>& rank() const { return rank_; }
    const std::vector<double>& crowding() const { return crowding_; }

private:
    std::vector<genotype> propose(std::size_t room) override {
        std::vector<genotype> out;
        if (population_.empty()) {
            const std::size_t n = std::min(room, o_.population);
            for (std::size_t k = 0; k < std::min(n, initial_.size()); ++k) out.push_back(initial_[k]);
            while (out.size() < n) {
                genotype g = Space::sample(this->rng_);
                for (int retry = 0; retry < 16 && !initial_.empty() && std::find(out.begin(), out.end(), g) != out.end();
                     ++retry)
                    g = Space::sample(this->rng_);
                out.push_back(g);
            }
            return out;
        }
        const std::size_t n = std::min(room, o_.offspring);
        auto taken = [&](const genotype& c) {
            for (std::size_t i : population_)
                if (this->history_[i].genotype == c) return true;
            return std::find(out.begin(), out.end(), c) != out.end();
        };
        while (out.size() < n) {
            const genotype& a = this->history_[population_[tournament()]].genotype;
            const genotype& b = this->history_[population_[tournament()]].genotype;
            genotype child = double(this->rng_.uniform()) < o_.crossover_probability
                                 ? Space::crossover(a, b, this->rng_)
                                 : a;
            child = Space::mutate(child, this->rng_, o_.mutation_decisions);
            for (int retry = 0; retry < 16 && taken(child); ++retry)
                child = Space::mutate(child, this->rng_, o_.mutation_decisions);
            out.push_back(child);
        }
        return out;
    }

    // Position in population_ of a binary tournament's winner.
    std::size_t tournament() {
        const std::size_t n = population_.size();
        if (n == 1) return 0;
        const std::size_t a = this->rng_.below(n);
        std::size_t b = this->rng_.below(n - 1);
        if (b >= a) ++b;
        return crowded_better(rank_[b], crowding_[b], rank_[a], crowding_[a]) ? b : a;
    }

    // The told batch joins the population (initial) or competes with it (μ+λ).
    void on_batch_told() override {
        std::vector<std::size_t> merged = population_;
        for (std::size_t i = this->history_.size() - this->pending_.size(); i < this->history_.size(); ++i)
            merged.push_back(i);
        std::vector<objective_vector> pts;
        std::vector<double> viol;
        for (std::size_t i : merged) {
            pts.push_back(this->history_[i].result.objectives);
            viol.push_back(this->history_[i].result.violation);
        }
        population_.clear();
        rank_.clear();
        crowding_.clear();
        const auto fronts = non_dominated_sort(pts, this->directions_, viol);
        for (std::size_t r = 0; r < fronts.size() && population_.size() < o_.population; ++r) {
            const auto d = crowding_distance(pts, fronts[r]);
            std::vector<std::size_t> order(fronts[r].size());
            std::iota(order.begin(), order.end(), std::size_t{0});
            if (population_.size() + order.size() > o_.population)
                std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return d[x] > d[y]; });
            for (std::size_t k = 0; k < order.size() && population_.size() < o_.population; ++k) {
                population_.push_back(merged[fronts[r][order[k]]]);
                rank_.push_back(r);
                crowding_.push_back(d[order[k]]);
            }
        }
    }

    void save_state(std::ostream& os) const override {
        namespace cp = checkpoint;
        cp::put(os, o_.population);
        cp::put(os, o_.offspring);
        cp::put(os, o_.crossover_probability);
        cp::put(os, o_.mutation_decisions);
        cp::put_indices(os, population_);
        for (std::size_t i = 0; i < population_.size(); ++i) cp::put(os, rank_[i]), cp::put(os, crowding_[i]);
    }
    void load_state(std::istream& is) override {
        namespace cp = checkpoint;
        if (cp::get<std::size_t>(is) != o_.population || cp::get<std::size_t>(is) != o_.offspring ||
            cp::get<double>(is) != o_.crossover_probability || cp::get<std::size_t>(is) != o_.mutation_decisions)
            cp::fail("nsga2 options (population, offspring, crossover_probability, mutation_decisions) differ "
                     "from the checkpoint's");
        population_ = cp::get_indices<std::vector<std::size_t>>(is, this->history_.size());
        rank_.resize(population_.size());
        crowding_.resize(population_.size());
        for (std::size_t i = 0; i < population_.size(); ++i) {
            rank_[i] = cp::get<std::size_t>(is);
            crowding_[i] = cp::get<double>(is);
        }
    }

    nsga2_options o_;
    std::vector<genotype> initial_;        // seeds of the first ask
    std::vector<std::size_t> population_;  // history indices, in selection order
    std::vector<std::size_t> rank_;        // aligned with population_
    std::vector<double> crowding_;         // aligned with population_ (inf at front extremes)
};

}  // namespace archetype
