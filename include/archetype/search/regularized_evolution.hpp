// archetype/search/regularized_evolution.hpp — regularized (aging) evolution (Real et al. 2019).
//
// Contract: the first `population` evaluations are uniform samples. Then every child comes from a
// tournament: `sample` distinct members drawn uniformly from the current population, the parent is
// the best of them on objective `objective` (feasible first, then smaller violation, then the
// objective in its direction; the first drawn of equals), and the child is
// Space::mutate(parent, rng, mutation_decisions). When a child is told it joins the population and
// the OLDEST member leaves (whatever its fitness): the population is a queue in tell order. The budget
// counts every evaluation, the initial population included. With batch = 1 this is the sequential
// algorithm of the paper; a larger batch draws `batch` children from the same population (for
// parallel evaluation) and gives a different but equally deterministic history. best() is the best
// entry of the whole history on the selection objective, including members that have aged out.
#pragma once

#include <deque>
#include <numeric>

#include "archetype/search/strategy.hpp"

namespace archetype {

struct regularized_evolution_options {
    std::size_t population = 100;                         // P
    std::size_t sample = 25;                              // S, tournament size (1 <= S <= P)
    std::size_t budget = 1000;                            // evaluations, the initial P included
    std::size_t objective = 0;                            // the objective selection uses
    std::vector<direction> directions{direction::maximize};  // one per objective of the evaluations
    std::size_t mutation_decisions = 1;                   // decisions changed per child
    std::size_t batch = 1;                                // genotypes per ask (1 = the paper's loop)
};

template <class Space>
class regularized_evolution : public strategy<Space> {
    using base = strategy<Space>;

public:
    using typename base::genotype;

    explicit regularized_evolution(regularized_evolution_options o, seed s = {})
        : base("regularized_evolution", o.directions, o.budget, s), o_(std::move(o)) {
        const std::string me = "regularized_evolution: ";
        if (o_.population == 0) throw error(me + "population is 0; use at least 1 (the paper uses 20 to 100)");
        if (o_.sample == 0 || o_.sample > o_.population)
            throw error(me + "sample (tournament size) is " + std::to_string(o_.sample) + "; it must be in 1.." +
                        std::to_string(o_.population) + " (the population)");
        if (o_.objective >= o_.directions.size())
            throw error(me + "objective " + std::to_string(o_.objective) + " does not exist; there are " +
                        std::to_string(o_.directions.size()) + " directions");
        if (o_.batch == 0) throw error(me + "batch is 0; ask at least one genotype at a time");
    }

    // History indices of the current population, oldest first.
    const std::deque<std::size_t>& population() const { return population_; }
    // History index of the best entry so far on the selection objective.
    std::size_t best() const { return base::best(o_.objective); }

private:
    std::vector<genotype> propose(std::size_t room) override {
        std::vector<genotype> out;
        if (population_.size() < o_.population) {  // initial population: do not mix with children
            out.resize(std::min({room, o_.batch, o_.population - population_.size()}));
            for (auto& g : out) g = Space::sample(this->rng_);
            return out;
        }
        out.resize(std::min(room, o_.batch));
        for (auto& g : out) g = Space::mutate(this->history_[tournament()].genotype, this->rng_, o_.mutation_decisions);
        return out;
    }

    // The winner of a tournament over `sample` members drawn without replacement (partial Fisher–Yates).
    std::size_t tournament() {
        std::vector<std::size_t> pos(population_.size());
        std::iota(pos.begin(), pos.end(), std::size_t{0});
        std::size_t winner = 0;
        for (std::size_t j = 0; j < o_.sample; ++j) {
            std::swap(pos[j], pos[j + this->rng_.below(pos.size() - j)]);
            const std::size_t candidate = population_[pos[j]];
            if (j == 0 || better_on(this->history_[candidate].result, this->history_[winner].result, o_.objective,
                                    o_.directions[o_.objective]))
                winner = candidate;
        }
        return winner;
    }

    void on_tell(std::size_t index) override {
        population_.push_back(index);
        if (population_.size() > o_.population) population_.pop_front();  // the oldest dies
    }

    void save_state(std::ostream& os) const override {
        for (std::size_t v : {o_.population, o_.sample, o_.objective, o_.mutation_decisions, o_.batch})
            checkpoint::put(os, v);
        checkpoint::put_indices(os, population_);
    }
    void load_state(std::istream& is) override {
        for (std::size_t v : {o_.population, o_.sample, o_.objective, o_.mutation_decisions, o_.batch})
            if (checkpoint::get<std::size_t>(is) != v)
                checkpoint::fail("regularized_evolution options (population, sample, objective, "
                                       "mutation_decisions, batch) differ from the checkpoint's");
        population_ = checkpoint::get_indices<std::deque<std::size_t>>(is, this->history_.size());
    }

    regularized_evolution_options o_;
    std::deque<std::size_t> population_;  // history indices, oldest first
};

}  // namespace archetype
