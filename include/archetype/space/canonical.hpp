// archetype/space/canonical.hpp — one genotype per architecture: decisions that do not run are reset.
//
// Contract: a decision is *active* in g when the architecture g selects runs it: it is reached by
// visiting the space with g's selections (inactive are the choices inside blocks beyond an
// elastic_depth's depth, or inside an unselected alternative of another choice). canonical<Space>(g)
// sets every inactive decision to 0, so two genotypes give the same network exactly when their
// canonical forms are equal (same_architecture). active_decisions<Space>(g)[i] tells whether decision
// i is active. Costs, outputs and codegen of g and canonical(g) are identical. Counting distinct
// architectures, deduplicating evaluations and mutating only active decisions build on it.
#pragma once

#include <array>

#include "archetype/space/search_space.hpp"

namespace archetype {

namespace detail {
template <class Space>
struct reach_marker {
    const typename Space::genotype& g;
    std::array<bool, Space::decision_count> reached{};
    template <class Op>
    constexpr void leaf(std::size_t, std::size_t) {}
    template <class Op>
    constexpr long on_choice(std::size_t) {
        const std::size_t i = Space::find(Op::name);
        reached[i] = true;
        return long(g[i]);
    }
};
}  // namespace detail

template <class Space>
constexpr std::array<bool, Space::decision_count> active_decisions(const typename Space::genotype& g) {
    detail::reach_marker<Space> m{g};
    visit_leaves<typename Space::op>(m);
    return m.reached;
}

template <class Space>
constexpr typename Space::genotype canonical(typename Space::genotype g) {
    const auto active = active_decisions<Space>(g);
    for (std::size_t i = 0; i < Space::decision_count; ++i)
        if (!active[i]) g[i] = 0;
    return g;
}

template <class Space>
constexpr bool same_architecture(const typename Space::genotype& a, const typename Space::genotype& b) {
    return canonical<Space>(a) == canonical<Space>(b);
}

}  // namespace archetype
