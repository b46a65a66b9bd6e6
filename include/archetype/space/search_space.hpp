// archetype/space/search_space.hpp — `search_space<In, Body>`: the decisions of a space and its genotypes.
//
// Contract: the decisions of Body bound to the sample shape In are collected at compile time (unique
// by name, in first-occurrence order); a genotype is one alternative index per decision
// (std::array<std::uint16_t, decision_count>). The space gives its cardinality exactly (big_count),
// samples, mutates, crosses over, lists neighbours, and maps genotypes to and from their mixed-radix
// index (the first decision is the most significant digit) for grid enumeration. cost(g) sums the
// leaf costs of the selected alternatives only (no network is built). apply(net, g) selects g's
// alternatives in a network<In, Body>. A genotype that names an alternative outside a decision's range
// is an archetype::error naming the decision and the allowed range.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "archetype/graph/network.hpp"
#include "archetype/space/big_count.hpp"
#include "archetype/space/choice.hpp"

namespace archetype {

struct decision_info {
    std::string_view name;
    std::size_t size = 0;                       // number of alternatives
    const std::string_view* labels = nullptr;   // size labels (empty where an alternative has none)

    // The label of alternative k, or its index when it has none.
    std::string label(std::size_t k) const {
        return labels[k].empty() ? std::to_string(k) : std::string(labels[k]);
    }
};

namespace detail {

template <std::size_t Cap>
struct decision_collector {
    std::array<decision_info, Cap> found{};
    std::size_t count = 0;
    bool conflict = false;  // one name used by choices of different sizes

    template <class Op>
    constexpr void leaf(std::size_t, std::size_t) {}
    template <class Op>
    constexpr long on_choice(std::size_t) {
        for (std::size_t i = 0; i < count; ++i) {
            if (found[i].name == Op::name) {
                if (found[i].size != Op::alternatives) conflict = true;
                return -1;
            }
        }
        if constexpr (Cap > 0) found[count++] = {Op::name, Op::alternatives, Op::descriptor::labels.data()};
        return -1;
    }
};

struct choice_counter {
    std::size_t count = 0;
    template <class Op>
    constexpr void leaf(std::size_t, std::size_t) {}
    template <class Op>
    constexpr long on_choice(std::size_t) {
        ++count;
        return -1;
    }
};

template <class Space>
struct cost_summer {
    const typename Space::genotype& g;
    cost total{};
    template <class Op>
    constexpr void leaf(std::size_t, std::size_t) {
        total = total + Op::descriptor::cost_of(Op::in);
    }
    template <class Op>
    constexpr long on_choice(std::size_t) {
        return long(g[Space::find(Op::name)]);
    }
};

template <class Space>
struct selector_setter {
    const typename Space::genotype& g;
    float* state;
    template <class Op>
    void leaf(std::size_t, std::size_t) {}
    template <class Op>
    long on_choice(std::size_t s) {
        state[s] = float(g[Space::find(Op::name)]);
        return -1;
    }
};

}  // namespace detail

template <shape In, class Body>
struct search_space {
    using network_type = network<In, Body>;
    using op = typename network_type::op;

private:
    static constexpr std::size_t choice_uses = [] {
        detail::choice_counter c;
        visit_leaves<op>(c);
        return c.count;
    }();
    static constexpr auto collected = [] {
        detail::decision_collector<choice_uses> c;
        visit_leaves<op>(c);
        return c;
    }();
    static_assert(!collected.conflict,
                  "archetype: two choices share a name but have different numbers of alternatives; rename one");

public:
    static constexpr std::size_t decision_count = collected.count;
    static constexpr std::array<decision_info, decision_count> decisions = [] {
        std::array<decision_info, decision_count> d{};
        for (std::size_t i = 0; i < decision_count; ++i) d[i] = collected.found[i];
        return d;
    }();
    using genotype = std::array<std::uint16_t, decision_count>;

    static constexpr big_count cardinality = [] {
        big_count c{1};
        for (const auto& d : decisions) c *= std::uint32_t(d.size);
        return c;
    }();

    // Position of a decision by name, or decision_count when there is none.
    static constexpr std::size_t find(std::string_view name) {
        for (std::size_t i = 0; i < decision_count; ++i)
            if (decisions[i].name == name) return i;
        return decision_count;
    }

    static void validate(const genotype& g) {
        for (std::size_t i = 0; i < decision_count; ++i)
            if (g[i] >= decisions[i].size)
                throw error("genotype: decision \"" + std::string(decisions[i].name) + "\" has value " +
                            std::to_string(g[i]) + " but allows 0.." + std::to_string(decisions[i].size - 1));
    }

    // Uniform over the space.
    static genotype sample(rng& r) {
        genotype g{};
        for (std::size_t i = 0; i < decision_count; ++i) g[i] = std::uint16_t(r.below(decisions[i].size));
        return g;
    }
    // Uniform over the genotypes satisfying `ok`, by rejection; throws after max_tries failures.
    template <class Pred>
    static genotype sample(rng& r, Pred&& ok, std::size_t max_tries = 100000) {
        for (std::size_t t = 0; t < max_tries; ++t) {
            genotype g = sample(r);
            if (ok(g)) return g;
        }
        throw error("search space: no genotype satisfying the constraint was found in " + std::to_string(max_tries) +
                    " samples; loosen the constraint (budget) or enlarge the space");
    }

    // Changes `k` distinct decisions (among those with more than one alternative) to another value each.
    static genotype mutate(genotype g, rng& r, std::size_t k = 1) {
        std::array<std::size_t, decision_count> free{};
        std::size_t n = 0;
        for (std::size_t i = 0; i < decision_count; ++i)
            if (decisions[i].size > 1) free[n++] = i;
        k = std::min(k, n);
        for (std::size_t j = 0; j < k; ++j) {  // partial Fisher–Yates over the mutable decisions
            const std::size_t pick = j + r.below(n - j);
            std::swap(free[j], free[pick]);
            const std::size_t i = free[j];
            const auto other = std::uint16_t(r.below(decisions[i].size - 1));
            g[i] = std::uint16_t(other >= g[i] ? other + 1 : other);
        }
        return g;
    }

    // Uniform crossover: each decision from a or b with probability 1/2.
    static genotype crossover(const genotype& a, const genotype& b, rng& r) {
        genotype c{};
        for (std::size_t i = 0; i < decision_count; ++i) c[i] = (r() >> 63) ? a[i] : b[i];
        return c;
    }

    // Every genotype that differs from g in exactly one decision, in decision then value order.
    static void for_each_neighbour(const genotype& g, const std::function<void(const genotype&)>& f) {
        for (std::size_t i = 0; i < decision_count; ++i) {
            for (std::uint16_t v = 0; v < decisions[i].size; ++v) {
                if (v == g[i]) continue;
                genotype n = g;
                n[i] = v;
                f(n);
            }
        }
    }

    // Mixed-radix index in [0, cardinality).
    static constexpr big_count index_of(const genotype& g) {
        big_count x{0};
        for (std::size_t i = 0; i < decision_count; ++i) {
            x *= std::uint32_t(decisions[i].size);
            x += g[i];
        }
        return x;
    }
    static genotype from_index(big_count x) {
        if (!(x < cardinality))
            throw error("search space: index " + x.str() + " is outside [0, " + cardinality.str() + ")");
        genotype g{};
        for (std::size_t i = decision_count; i-- > 0;) g[i] = std::uint16_t(x.divmod(std::uint32_t(decisions[i].size)));
        return g;
    }

    // Params, MACs and activations of the architecture g selects (composites' own buffers excluded).
    static constexpr cost cost_of(const genotype& g) {
        detail::cost_summer<search_space> s{g};
        visit_leaves<op>(s);
        return s.total;
    }

    // Selects g's alternatives in `net` (its weights are kept: the network is a supernet of the space).
    static void apply(network_type& net, const genotype& g) {
        validate(g);
        detail::selector_setter<search_space> s{g, net.state().data()};
        visit_leaves<op>(s);
    }
};

}  // namespace archetype
