// Value choices: integer decisions mapped to alternative types through a template.
#include <doctest/doctest.h>

#include <type_traits>

#include "archetype/blocks/mbconv.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/space/genotype_text.hpp"
#include "archetype/space/value_choice.hpp"

namespace at = archetype;

template <int Width>
using hidden = at::sequential<at::dense<Width>, at::relu, at::dense<3>>;
using width = at::value_choice<"width", hidden, 8, 16, 32>;

// exactly the choice one would write by hand
static_assert(std::is_same_v<width, at::choice<"width", at::option<"8", hidden<8>>, at::option<"16", hidden<16>>,
                                               at::option<"32", hidden<32>>>>);
static_assert(at::detail::int_label<-120>().view() == "-120" && at::detail::int_label<0>().view() == "0");
static_assert(at::detail::int_label<2147483647>().view() == "2147483647");

using wsp = at::search_space<at::shape{4, 1, 1}, width>;
static_assert(wsp::decision_count == 1 && wsp::decisions[0].size == 3);
// params of hidden<W> on 4 inputs: 4W + W + 3W + 3
static_assert(wsp::cost_of({0}).params == 8 * 8 + 3 && wsp::cost_of({2}).params == 8 * 32 + 3);

// two value decisions on one block: kernel outer, expand inner
template <int K, int E>
using block = at::mbconv<8, K, 1, E>;
using grid = at::value_grid<"k", "e", block, at::int_values<3, 5, 7>, at::int_values<3, 4, 6>>;
using gsp = at::search_space<at::shape{8, 6, 6}, at::sequential<grid, grid>>;  // both blocks share k and e
static_assert(gsp::decision_count == 2 && gsp::cardinality == at::big_count{9});
static_assert(gsp::decisions[0].name == "k" && gsp::decisions[1].name == "e");

TEST_CASE("value decisions read as integers in text and select the block of that value") {
    CHECK(at::to_text<wsp>({1}) == "width=16");
    CHECK(at::parse_text<wsp>("width=32") == wsp::genotype{2});
    CHECK_THROWS_WITH_AS(at::parse_text<wsp>("width=12"),
                         doctest::Contains("\"width\" has no alternative \"12\"; allowed: 8, 16, 32"), at::error);
    CHECK(at::value_of<wsp>({2}, "width") == 32);
    CHECK_THROWS_WITH_AS((void)at::value_of<wsp>({2}, "depth"), doctest::Contains("no decision \"depth\""),
                         at::error);

    CHECK(at::to_text<gsp>({2, 1}) == "k=7,e=4");
    for (std::uint16_t k = 0; k < 3; ++k) {
        for (std::uint16_t e = 0; e < 3; ++e) {
            const int kv = at::value_of<gsp>({k, e}, "k"), ev = at::value_of<gsp>({k, e}, "e");
            CHECK(kv == 3 + 2 * k);
            CHECK(ev == (e == 2 ? 6 : 3 + e));
            // each block: expand 1×1 8→8E, BN, depthwise K×K, BN, project 8E→8, BN
            const std::size_t hidden_c = std::size_t(8 * ev);
            const std::size_t per_block = 8 * hidden_c + 2 * hidden_c + hidden_c * std::size_t(kv * kv) +
                                          2 * hidden_c + hidden_c * 8 + 2 * 8;
            CHECK(gsp::cost_of({k, e}).params == 2 * per_block);
        }
    }
}

TEST_CASE("a network of a value grid runs the selected kernel size") {
    gsp::network_type net{at::seed{3}};
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({1, 8, 6, 6});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float(i % 7) * 0.1f - 0.3f;
    gsp::apply(net, {0, 0});
    const auto a = net.forward(x);
    gsp::apply(net, {2, 0});
    const auto b = net.forward(x);
    gsp::apply(net, {0, 0});
    const auto c = net.forward(x);
    CHECK(a == c);
    CHECK(a != b);  // another alternative, other weights
}
