// archetype/search/random_search.hpp — uniform random sampling of a space.
//
// Contract: every asked genotype is Space::sample(rng), drawn in ask order from the strategy's one
// generator, so the history is the same for every batch size and evaluation order. Stops after
// `budget` evaluations. The baseline every other strategy must beat (Li & Talwalkar 2019).
#pragma once

#include "archetype/search/strategy.hpp"

namespace archetype {

struct random_search_options {
    std::size_t budget = 100;                             // evaluations
    std::vector<direction> directions{direction::maximize};  // one per objective of the evaluations
    std::size_t batch = 1;                                // genotypes per ask
};

template <class Space>
class random_search : public strategy<Space> {
    using base = strategy<Space>;

public:
    using typename base::genotype;

    explicit random_search(random_search_options o, seed s = {})
        : base("random_search", o.directions, o.budget, s), batch_(o.batch) {
        if (batch_ == 0) throw error("random_search: batch is 0; ask at least one genotype at a time");
    }

private:
    std::vector<genotype> propose(std::size_t room) override {
        std::vector<genotype> out(std::min(room, batch_));
        for (auto& g : out) g = Space::sample(this->rng_);
        return out;
    }

    std::size_t batch_;
};

}  // namespace archetype
