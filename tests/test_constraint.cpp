// Constraints: budgets attached to a space, or passed at run time, that samplers never violate.
#include <doctest/doctest.h>

#include <set>

#include "archetype/layers/activation.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/search/regularized_evolution.hpp"
#include "archetype/space/constraint.hpp"
#include "archetype/space/value_choice.hpp"

namespace at = archetype;

template <int W>
using layer = at::sequential<at::dense<W>, at::relu, at::dense<4>>;
// three independent hidden widths W in {2, 8, 32}; a layer has 4W + W + 4W + 4 = 9W + 4 params (22, 76, 292)
using base = at::search_space<at::shape{4, 1, 1}, at::sequential<at::value_choice<"w0", layer, 2, 8, 32>,
                                                                 at::value_choice<"w1", layer, 2, 8, 32>,
                                                                 at::value_choice<"w2", layer, 2, 8, 32>, at::dense<1>>>;
constexpr std::size_t budget = 400;
using small = at::constrained<base, at::params_at_most<budget>>;
static_assert(small::cost_of({0, 0, 0}).params == 3 * 22 + 5);
static_assert(small::satisfied({1, 1, 1}) && !small::satisfied({2, 2, 0}));
static_assert(small::cardinality == base::cardinality);  // the attached budget does not change the decisions

std::size_t count_satisfying() {
    std::size_t n = 0;
    for (std::uint64_t i = 0; i < base::cardinality.to_u64(); ++i) n += small::satisfied(base::from_index(at::big_count{i}));
    return n;
}

TEST_CASE("an attached budget: sample, mutate and crossover never return a violating genotype") {
    const std::size_t valid = count_satisfying();
    CHECK(valid == 8 + 3 * 3);  // no W = 32 (2^3), or one W = 32 with at most one W = 8 beside it
    at::rng r{at::seed{3}};
    std::set<std::string> seen;
    for (int t = 0; t < 500; ++t) {
        const auto g = small::sample(r);
        CHECK(base::cost_of(g).params <= budget);
        seen.insert(at::to_text<small>(g));
        const auto m = small::mutate(g, r);
        CHECK(small::satisfied(m));
        CHECK(m != g);
        CHECK(small::satisfied(small::crossover(g, m, r)));
    }
    CHECK(seen.size() == valid);  // rejection keeps every valid genotype reachable
    CHECK_THROWS_WITH_AS(small::require({2, 2, 0}), doctest::Contains("violates the constraint \"params <= 400\""),
                         at::error);
}

TEST_CASE("an impossible budget is an error naming the constraint") {
    using none = at::constrained<base, at::params_at_most<10>, at::macs_at_most<1000>>;
    at::rng r{at::seed{1}};
    CHECK_THROWS_WITH_AS(none::sample(r),
                         doctest::Contains("constraint \"params <= 10 and MACs <= 1000\" was found in 10000 samples"),
                         at::error);
    // only the smallest genotype fits: none of its mutations does
    using tight = at::constrained<base, at::params_at_most<71>>;
    CHECK(tight::sample(r) == tight::genotype{0, 0, 0});
    CHECK_THROWS_WITH_AS(tight::mutate({0, 0, 0}, r), doctest::Contains("mutations of w0=2,w1=2,w2=2"), at::error);
}

TEST_CASE("a run-time budget works through the free functions") {
    at::rng r{at::seed{8}};
    const auto c = at::macs_budget<base>(300);
    for (int t = 0; t < 200; ++t) {
        const auto g = at::sample_satisfying(r, c);
        CHECK(base::cost_of(g).macs <= 300);
        CHECK(c.ok(at::mutate_satisfying(g, r, c, 2)));
        CHECK(c.ok(at::crossover_satisfying(g, at::sample_satisfying(r, c), r, c)));
    }
    CHECK_THROWS_WITH_AS(at::sample_satisfying(r, at::params_budget<base>(5), 100),
                         doctest::Contains("\"params <= 5\" was found in 100 samples"), at::error);
}

TEST_CASE("a search strategy on a constrained space only asks for genotypes within the budget") {
    at::regularized_evolution<small> evo({.population = 8, .sample = 3, .budget = 60}, at::seed{5});
    std::size_t asked = 0;
    while (!evo.done()) {
        for (const auto& g : evo.ask()) {
            CHECK(small::satisfied(g));
            ++asked;
            evo.tell(g, {{double(base::cost_of(g).params)}});
        }
    }
    CHECK(asked == 60);
}
