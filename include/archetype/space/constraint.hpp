// archetype/space/constraint.hpp — constraints on genotypes: budgets a sampler never violates.
//
// Contract:
// - A constraint type C has `template <class Space> static constexpr bool ok(const typename Space::genotype&)`
//   and `static std::string name()` (what error messages call it). Provided: params_at_most<N>,
//   macs_at_most<N>, activations_at_most<N> (from Space::cost_of(g): compile-time tables, no network is
//   built) and all_of<C...>. Any user type with the same two members works.
// - constrained<Space, C...> is Space with the constraints attached: it has every member of Space (same
//   genotype, decisions, network, cost_of, apply, text form), and its sample, mutate and crossover only
//   return genotypes that satisfy all of C..., by rejection: sample redraws, mutate re-mutates the
//   parent, crossover re-crosses the parents, each at most max_tries times, then throws an
//   archetype::error naming the constraint (and, for mutate and crossover, the parents' text). Search
//   strategies take constrained<...> wherever they take a space. satisfied(g) tests g; require(g)
//   throws naming the first violated constraint. from_index and grid enumeration still cover the whole
//   space (filter with satisfied()).
// - constraint<Space> is the run-time form, {name, predicate}, for budgets known only at run time:
//   sample_satisfying / mutate_satisfying / crossover_satisfying behave as constrained's members.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>

#include "archetype/space/genotype_text.hpp"

namespace archetype {

template <std::size_t N>
struct params_at_most {
    static std::string name() { return "params <= " + std::to_string(N); }
    template <class Space>
    static constexpr bool ok(const typename Space::genotype& g) {
        return Space::cost_of(g).params <= N;
    }
};

template <std::size_t N>
struct macs_at_most {
    static std::string name() { return "MACs <= " + std::to_string(N); }
    template <class Space>
    static constexpr bool ok(const typename Space::genotype& g) {
        return Space::cost_of(g).macs <= N;
    }
};

template <std::size_t N>
struct activations_at_most {
    static std::string name() { return "activations <= " + std::to_string(N); }
    template <class Space>
    static constexpr bool ok(const typename Space::genotype& g) {
        return Space::cost_of(g).activations <= N;
    }
};

template <class... Cs>
struct all_of {
    static std::string name() {
        std::string s;
        ((s += (s.empty() ? "" : " and ") + Cs::name()), ...);
        return s.empty() ? "true" : s;
    }
    template <class Space>
    static constexpr bool ok(const typename Space::genotype& g) {
        return (Cs::template ok<Space>(g) && ...);
    }
};

namespace detail {
template <class Genotype, class Ok, class Make>
Genotype draw_satisfying(Ok&& ok, Make&& make, std::size_t max_tries, const std::string& constraint,
                         const std::string& what) {
    for (std::size_t t = 0; t < max_tries; ++t) {
        Genotype g = make();
        if (ok(g)) return g;
    }
    throw error("search space: no genotype satisfying the constraint \"" + constraint + "\" was found in " +
                std::to_string(max_tries) + " " + what + "; loosen the constraint (budget), enlarge the space, or "
                "start from parents further inside the budget");
}
}  // namespace detail

template <class Space, class... Cs>
struct constrained : Space {
    using space = Space;
    using constraint_type = all_of<Cs...>;
    using genotype = typename Space::genotype;
    static constexpr std::size_t max_tries = 10000;

    static std::string constraint_name() { return constraint_type::name(); }
    static constexpr bool satisfied(const genotype& g) { return constraint_type::template ok<Space>(g); }
    static void require(const genotype& g) {
        Space::validate(g);
        std::string violated;
        ((violated.empty() && !Cs::template ok<Space>(g) ? void(violated = Cs::name()) : void()), ...);
        if (!violated.empty())
            throw error("genotype " + to_text<Space>(g) + " violates the constraint \"" + violated + "\"");
    }

    static genotype sample(rng& r) {
        return detail::draw_satisfying<genotype>(satisfied, [&] { return Space::sample(r); }, max_tries,
                                                 constraint_name(), "samples");
    }
    static genotype mutate(const genotype& g, rng& r, std::size_t k = 1) {
        return detail::draw_satisfying<genotype>(satisfied, [&] { return Space::mutate(g, r, k); }, max_tries,
                                                 constraint_name(), "mutations of " + to_text<Space>(g));
    }
    static genotype crossover(const genotype& a, const genotype& b, rng& r) {
        return detail::draw_satisfying<genotype>(satisfied, [&] { return Space::crossover(a, b, r); }, max_tries,
                                                 constraint_name(),
                                                 "crossovers of " + to_text<Space>(a) + " and " + to_text<Space>(b));
    }
};

// A constraint known at run time.
template <class Space>
struct constraint {
    std::string name;
    std::function<bool(const typename Space::genotype&)> ok;
};

template <class Space>
constraint<Space> params_budget(std::size_t n) {
    return {"params <= " + std::to_string(n), [n](const typename Space::genotype& g) { return Space::cost_of(g).params <= n; }};
}
template <class Space>
constraint<Space> macs_budget(std::size_t n) {
    return {"MACs <= " + std::to_string(n), [n](const typename Space::genotype& g) { return Space::cost_of(g).macs <= n; }};
}

template <class Space>
typename Space::genotype sample_satisfying(rng& r, const constraint<Space>& c, std::size_t max_tries = 10000) {
    return detail::draw_satisfying<typename Space::genotype>(c.ok, [&] { return Space::sample(r); }, max_tries, c.name,
                                                             "samples");
}
template <class Space>
typename Space::genotype mutate_satisfying(const typename Space::genotype& g, rng& r, const constraint<Space>& c,
                                           std::size_t k = 1, std::size_t max_tries = 10000) {
    return detail::draw_satisfying<typename Space::genotype>(c.ok, [&] { return Space::mutate(g, r, k); }, max_tries,
                                                             c.name, "mutations of " + to_text<Space>(g));
}
template <class Space>
typename Space::genotype crossover_satisfying(const typename Space::genotype& a, const typename Space::genotype& b,
                                              rng& r, const constraint<Space>& c, std::size_t max_tries = 10000) {
    return detail::draw_satisfying<typename Space::genotype>(
        c.ok, [&] { return Space::crossover(a, b, r); }, max_tries, c.name,
        "crossovers of " + to_text<Space>(a) + " and " + to_text<Space>(b));
}

}  // namespace archetype
