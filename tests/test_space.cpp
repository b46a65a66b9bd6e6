// Search-space vocabulary: choices, decisions shared by name, cardinality, per-genotype cost,
// genotype operators, text round trips and the supernet switch.
#include <doctest/doctest.h>

#include <set>

#include "archetype/graph/branches.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/space/genotype_text.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;

using edge = at::choice<"e", at::option<"zero", at::zero>, at::option<"skip", at::identity>, at::dense<4>>;
using head = at::choice<"head", at::dense<2>, at::dense<2, false>>;
using body = at::sequential<at::repeat<3, at::residual<edge>>, head>;
using sp = at::search_space<at::shape{4, 1, 1}, body>;

static_assert(sp::decision_count == 2);  // the three residual cells share "e"
static_assert(sp::cardinality == at::big_count{6});
static_assert(sp::decisions[0].name == "e" && sp::decisions[0].size == 3);
static_assert(sp::cost_of(sp::genotype{2, 0}).params == 3 * 20 + 10);
static_assert(sp::cost_of(sp::genotype{0, 1}).params == 8);
static_assert(sp::cost_of(sp::genotype{2, 1}).macs == 3 * 16 + 8);
// a choice's own cost is the upper bound over its alternatives
static_assert(edge::cost_of(at::shape{4, 1, 1}).params == 20);

// independent decisions by name, 10^20 members: cardinality beyond 64 bits is exact
template <std::size_t I>
struct digit_name;
#define ARCHETYPE_DIGIT(i) \
    template <>            \
    struct digit_name<i> { \
        using type = at::choice<"d" #i, ARCHETYPE_TEN>; \
    };
#define ARCHETYPE_TEN at::identity, at::identity, at::identity, at::identity, at::identity, \
    at::identity, at::identity, at::identity, at::identity, at::identity
ARCHETYPE_DIGIT(0) ARCHETYPE_DIGIT(1) ARCHETYPE_DIGIT(2) ARCHETYPE_DIGIT(3) ARCHETYPE_DIGIT(4)
ARCHETYPE_DIGIT(5) ARCHETYPE_DIGIT(6) ARCHETYPE_DIGIT(7) ARCHETYPE_DIGIT(8) ARCHETYPE_DIGIT(9)
ARCHETYPE_DIGIT(10) ARCHETYPE_DIGIT(11) ARCHETYPE_DIGIT(12) ARCHETYPE_DIGIT(13) ARCHETYPE_DIGIT(14)
ARCHETYPE_DIGIT(15) ARCHETYPE_DIGIT(16) ARCHETYPE_DIGIT(17) ARCHETYPE_DIGIT(18) ARCHETYPE_DIGIT(19)
template <std::size_t... I>
using digits_body = at::sequential<typename digit_name<I>::type...>;
using big = at::search_space<at::shape{1, 1, 1}, decltype([]<std::size_t... I>(std::index_sequence<I...>) {
                                 return digits_body<I...>{};
                             }(std::make_index_sequence<20>{}))>;
static_assert(big::decision_count == 20);
static_assert(!big::cardinality.fits_u64());

TEST_CASE("cardinality beyond 64 bits is exact, and indices round trip") {
    CHECK(big::cardinality.str() == "100000000000000000000");
    at::rng r{at::seed{5}};
    for (int t = 0; t < 50; ++t) {
        const auto g = big::sample(r);
        CHECK(big::from_index(big::index_of(g)) == g);
    }
    big::genotype g{};
    g[19] = 7;
    g[0] = 3;
    CHECK(big::index_of(g).str() == "30000000000000000007");
    CHECK_THROWS_AS(big::from_index(big::cardinality), at::error);
}

TEST_CASE("sampling covers the space uniformly; mutation changes exactly k decisions") {
    at::rng r{at::seed{11}};
    std::array<int, 6> counts{};
    for (int t = 0; t < 6000; ++t) ++counts[sp::index_of(sp::sample(r)).to_u64()];
    for (int c : counts) CHECK(std::abs(c - 1000) < 120);  // ~4 sigma
    for (int t = 0; t < 200; ++t) {
        const auto g = big::sample(r);
        const auto m = big::mutate(g, r, 3);
        int diff = 0;
        for (std::size_t i = 0; i < g.size(); ++i) diff += g[i] != m[i];
        CHECK(diff == 3);
    }
}

TEST_CASE("crossover takes each decision from a parent; neighbours differ in one decision") {
    at::rng r{at::seed{2}};
    const auto a = big::sample(r), b = big::sample(r);
    const auto c = big::crossover(a, b, r);
    for (std::size_t i = 0; i < c.size(); ++i) CHECK((c[i] == a[i] || c[i] == b[i]));
    std::set<std::string> seen;
    sp::for_each_neighbour(sp::genotype{1, 0}, [&](const sp::genotype& n) { seen.insert(at::to_text<sp>(n)); });
    CHECK(seen == std::set<std::string>{"e=zero,head=0", "e=2,head=0", "e=skip,head=1"});
}

TEST_CASE("constrained sampling never returns a violating genotype, and says so when none exists") {
    at::rng r{at::seed{4}};
    auto budget = [](const sp::genotype& g) { return sp::cost_of(g).params <= 10; };
    for (int t = 0; t < 100; ++t) CHECK(budget(sp::sample(r, budget)));
    CHECK_THROWS_AS(sp::sample(r, [](const sp::genotype&) { return false; }, 50), at::error);
}

TEST_CASE("text form round trips and bad text is rejected naming the decision and allowed values") {
    at::rng r{at::seed{9}};
    for (int t = 0; t < 20; ++t) {
        const auto g = sp::sample(r);
        CHECK(at::parse_text<sp>(at::to_text<sp>(g)) == g);
    }
    CHECK(at::parse_text<sp>(" head=1 , e=skip ") == sp::genotype{1, 1});
    CHECK_THROWS_WITH_AS(at::parse_text<sp>("e=conv,head=0"),
                         doctest::Contains("\"e\" has no alternative \"conv\"; allowed: zero, skip, 2"), at::error);
    CHECK_THROWS_WITH_AS(at::parse_text<sp>("e=skip"), doctest::Contains("\"head\" is missing"), at::error);
    CHECK_THROWS_WITH_AS(at::parse_text<sp>("e=skip,head=0,x=1"), doctest::Contains("no decision \"x\""), at::error);
    CHECK_THROWS_WITH_AS(at::parse_text<sp>("e=skip,e=zero,head=0"), doctest::Contains("given twice"), at::error);
    CHECK_THROWS_AS(at::parse_text<sp>("e:skip"), at::error);
    CHECK_THROWS_AS(sp::validate(sp::genotype{3, 0}), at::error);
}

TEST_CASE("the network of a space switches alternatives by genotype and keeps every alternative's weights") {
    sp::network_type net{at::seed{1}};
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({1, 4, 1, 1});
    for (int i = 0; i < 4; ++i) x(0, i, 0, 0) = float(i + 1);
    sp::apply(net, {0, 0});  // zero edges: residual cells are identities, so y = head(x)
    const auto y_zero = net.forward(x);
    sp::apply(net, {1, 0});  // skip edges: each cell doubles its input
    const auto y_skip = net.forward(x);
    // head is affine: head(8x) - b = 8 (head(x) - b)
    // head alternatives hold dense<2> (8 weights, 2 biases) then dense<2, false> (8 weights)
    const auto b0 = net.params()[net.params().size() - 18 + 8];
    CHECK(y_skip(0, 0) - b0 == doctest::Approx(8 * (y_zero(0, 0) - b0)).epsilon(1e-5));
    sp::apply(net, {0, 0});
    const auto again = net.forward(x);
    CHECK(again(0, 0) == y_zero(0, 0));
}

TEST_CASE("gradients flow through the selected alternative only") {
    using namespace at::test;
    check_gradients<at::shape{4, 1, 1}, at::choice<"c", at::dense<3>>>(2);
}
