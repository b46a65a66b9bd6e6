// archetype/search/grid_search.hpp — exhaustive enumeration of a small space.
//
// Contract: asks Space::from_index(0), from_index(1), ... in index order (the first decision is the
// most significant digit), so history[i] is the genotype of index i. The budget is the cardinality
// (or `budget` when smaller and non-zero). A space with more genotypes than `limit` is an
// archetype::error naming its cardinality: enumerate a smaller space or use random search/evolution.
#pragma once

#include "archetype/search/strategy.hpp"
#include "archetype/space/big_count.hpp"

namespace archetype {

struct grid_search_options {
    std::size_t limit = 1'000'000;                        // largest cardinality accepted
    std::size_t budget = 0;                               // 0: the whole grid
    std::vector<direction> directions{direction::maximize};  // one per objective of the evaluations
    std::size_t batch = 1;                                // genotypes per ask
};

template <class Space>
class grid_search : public strategy<Space> {
    using base = strategy<Space>;

public:
    using typename base::genotype;

    explicit grid_search(grid_search_options o)
        : base("grid_search", o.directions, grid_size(o), seed{}), batch_(o.batch) {
        if (batch_ == 0) throw error("grid_search: batch is 0; ask at least one genotype at a time");
    }

private:
    static std::size_t grid_size(const grid_search_options& o) {
        if (Space::cardinality > big_count{o.limit})
            throw error("grid_search: the space has " + Space::cardinality.str() + " genotypes, more than the limit " +
                        std::to_string(o.limit) + "; raise grid_search_options::limit, shrink the space, or use "
                        "random_search or regularized_evolution");
        const std::size_t n = Space::cardinality.to_u64();
        return o.budget == 0 ? n : std::min(n, o.budget);
    }

    // ask() proposes only once the last batch is told, so the next index is the history's length.
    std::vector<genotype> propose(std::size_t room) override {
        const std::size_t next = this->history_.size();
        std::vector<genotype> out(std::min(room, batch_));
        for (std::size_t k = 0; k < out.size(); ++k) out[k] = Space::from_index(big_count{next + k});
        return out;
    }

    std::size_t batch_;
};

}  // namespace archetype
