// Elastic depth: a named decision over how many of a stage's blocks run.
#include <doctest/doctest.h>

#include "archetype/layers/activation.hpp"
#include "archetype/layers/dense.hpp"
#include <set>

#include "archetype/space/canonical.hpp"
#include "archetype/space/elastic_depth.hpp"
#include "archetype/space/genotype_text.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;

// A stage: the first block changes 3 → 4 features, the others keep 4.
template <at::fixed_string N>
using unit = at::choice<N, at::option<"wide", at::sequential<at::dense<4>, at::tanh>>, at::option<"lin", at::dense<4>>>;
using stage = at::elastic_depth<"depth", 1, unit<"b0">, unit<"b1">, unit<"b2">, unit<"b3">>;
using sp = at::search_space<at::shape{3, 1, 1}, at::sequential<stage, at::dense<2>>>;

static_assert(stage::labels[0] == "1" && stage::labels[3] == "4");
static_assert(sp::decision_count == 5 && sp::decisions[0].name == "depth" && sp::decisions[0].size == 4);
static_assert(sp::decisions[1].name == "b0" && sp::decisions[4].name == "b3");
static_assert(sp::cardinality == at::big_count{4 * 16});
// costs count the active blocks only: b0 = 3·4 + 4 params, b1.. = 4·4 + 4, head 4·2 + 2
static_assert(sp::cost_of({0, 0, 0, 0, 0}).params == 16 + 10);
static_assert(sp::cost_of({2, 0, 0, 0, 0}).params == 16 + 2 * 20 + 10);
static_assert(sp::cost_of({3, 1, 1, 1, 1}).macs == 12 + 3 * 16 + 8);
static_assert(sp::cost_of({3, 0, 0, 0, 0}).activations == sp::cost_of({3, 1, 1, 1, 1}).activations + 4 * 4);
// the descriptor's own cost is the upper bound: all four blocks
static_assert(stage::cost_of(at::shape{3, 1, 1}).params == 16 + 3 * 20);

// one block type repeated: its choice is one decision shared by the blocks
using rep = at::search_space<at::shape{4, 1, 1}, at::elastic_repeat<"d", 0, 3, unit<"u">>>;
static_assert(rep::decision_count == 2 && rep::decisions[0].size == 4 && rep::cardinality == at::big_count{8});
static_assert(rep::cost_of({0, 0}).params == 0 && rep::cost_of({3, 1}).params == 60);

xt::xtensor<float, 4> input(std::size_t n, std::size_t c) {
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({n, c, 1, 1});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = 0.3f * float(i % 5) - 0.5f;
    return x;
}

TEST_CASE("depth k runs the first k blocks: outputs equal the fixed network of those blocks") {
    sp::network_type net{at::seed{7}};
    const auto x = input(3, 3);
    const sp::genotype g{1, 0, 1, 1, 0};  // depth 2: b0 wide, b1 lin
    CHECK(at::to_text<sp>(g) == "depth=2,b0=wide,b1=lin,b2=lin,b3=wide");
    CHECK(at::resolved_spelling<sp>(g) ==
          "archetype::sequential<archetype::sequential<archetype::sequential<archetype::dense<4, true>, "
          "archetype::tanh>, archetype::dense<4, true>>, archetype::dense<2, true>>");
    using fixed = at::network<at::shape{3, 1, 1},
                              at::sequential<at::sequential<at::sequential<at::dense<4>, at::tanh>, at::dense<4>>,
                                             at::dense<2>>>;
    sp::apply(net, g);
    const auto w = at::selected_weights<sp>(net, g);
    fixed f{at::seed{1}};
    REQUIRE(w.params.size() == f.params().size());
    std::copy(w.params.begin(), w.params.end(), f.params().begin());
    CHECK(net.forward(x) == f.forward(x));  // same kernels, same order: bit for bit
    // a deeper genotype changes the output; going back restores it (the weights are kept)
    const auto y2 = net.forward(x);
    sp::apply(net, {3, 0, 1, 1, 0});
    CHECK(net.forward(x) != y2);
    sp::apply(net, g);
    CHECK(net.forward(x) == y2);
}

TEST_CASE("depth 0 passes the input through") {
    rep::network_type net{at::seed{2}};
    const auto x = input(2, 4);
    rep::apply(net, {0, 1});
    const auto y = net.forward(x);
    CHECK(y == xt::xtensor<float, 2>(xt::reshape_view(x, {2, 4})));
    CHECK(at::resolved_spelling<rep>({0, 1}) == "archetype::identity");
    CHECK(at::resolved_spelling<rep>({2, 1}) ==
          "archetype::sequential<archetype::dense<4, true>, archetype::dense<4, true>>");
}

TEST_CASE("gradients flow through the active blocks only") {
    using namespace at::test;
    // the network's default selection is index 0: depth 2 of 3 here (the third block inactive, zero gradient)
    check_gradients<at::shape{3, 1, 1},
                    at::elastic_depth<"d", 2, at::dense<4>, at::sequential<at::dense<4>, at::tanh>, at::dense<4>>>(3);
    check_gradients<at::shape{4, 1, 1}, at::elastic_repeat<"d", 0, 2, at::dense<4>>>(2);  // depth 0: dx = dy
    at::network<at::shape{3, 1, 1}, stage> net{at::seed{1}};
    const auto x = input(2, 3);
    net.forward_raw(x.data(), 2, true);
    std::vector<float> dy(8, 1.0f);
    net.backward_raw(dy.data());
    // depth 1 of 4 (b0's "wide" alternative): only b0's wide dense has gradients
    std::size_t nonzero_after = 0;
    for (std::size_t i = 16; i < net.grads().size(); ++i) nonzero_after += net.grads()[i] != 0.0f;
    CHECK(nonzero_after == 0);
    CHECK(net.grads()[0] != 0.0f);
}

TEST_CASE("an out-of-range depth index is an error naming the decision") {
    rep::network_type net{at::seed{2}};
    net.state()[0] = 9.0f;
    CHECK_THROWS_WITH_AS(net.forward(input(1, 4)), doctest::Contains("elastic_depth \"d\""), at::error);
    CHECK_THROWS_WITH_AS(rep::validate({4, 0}), doctest::Contains("\"d\" has value 4 but allows 0..3"), at::error);
}

TEST_CASE("canonical genotypes: one per architecture") {
    // depth d of 1..4 with 2 alternatives per active block: 2 + 4 + 8 + 16 = 30 architectures in 64 genotypes
    std::set<sp::genotype> distinct;
    for (std::uint64_t i = 0; i < 64; ++i) distinct.insert(at::canonical<sp>(sp::from_index(at::big_count{i})));
    CHECK(distinct.size() == 30);
    const sp::genotype a{1, 0, 1, 1, 0}, b{1, 0, 1, 0, 1};  // differ only in the inactive b2, b3
    CHECK(at::same_architecture<sp>(a, b));
    CHECK(at::canonical<sp>(b) == sp::genotype{1, 0, 1, 0, 0});
    CHECK(at::active_decisions<sp>(a) == std::array<bool, 5>{true, true, true, false, false});
    static_assert(at::canonical<sp>({1, 0, 1, 1, 0}) == sp::genotype{1, 0, 1, 0, 0});
    sp::network_type net{at::seed{3}};
    const auto x = input(2, 3);
    sp::apply(net, a);
    const auto ya = net.forward(x);
    sp::apply(net, b);
    CHECK(net.forward(x) == ya);
    CHECK(at::resolved_spelling<sp>(a) == at::resolved_spelling<sp>(b));
}
