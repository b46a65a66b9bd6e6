// The network of a space is its weight-sharing supernet: genotypes that select the same alternative
// run the same weights.
#include <doctest/doctest.h>

#include <vector>

#include "archetype/layers/activation.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/space/elastic_depth.hpp"
#include "archetype/space/supernet.hpp"

namespace at = archetype;

using a_choice = at::choice<"a", at::option<"d3", at::dense<3>>, at::option<"tanh3", at::sequential<at::dense<3>, at::tanh>>>;
using b_choice = at::choice<"b", at::option<"d2", at::dense<2>>, at::option<"relu2", at::sequential<at::dense<2>, at::relu>>>;
using sp = at::search_space<at::shape{4, 1, 1},
                            at::sequential<a_choice, at::elastic_repeat<"depth", 1, 2, at::dense<3>>, b_choice>>;
static_assert(std::is_same_v<at::supernet<sp>, sp::network_type>);
// layout: a.d3 [0,15) a.tanh3 [15,30) depth blocks [30,42) [42,54) b.d2 [54,62) b.relu2 [62,70)

TEST_CASE("active parameter ranges follow the genotype; shared alternatives share their floats") {
    CHECK(at::active_params<sp>({0, 0, 0}) == std::vector<at::param_range>{{0, 15}, {30, 42}, {54, 62}});
    CHECK(at::active_params<sp>({1, 1, 1}) == std::vector<at::param_range>{{15, 54}, {62, 70}});
    CHECK(at::shared_param_count<sp>({1, 0, 0}, {1, 1, 1}) == 15 + 12);  // a = tanh3 and the first block
    CHECK(at::shared_param_count<sp>({0, 0, 0}, {1, 0, 1}) == 12);       // only the first depth block
    CHECK(sp::network_type::param_count == 70);
}

TEST_CASE("training one genotype trains the alternatives it shares with others, and nothing else") {
    sp::network_type net{at::seed{4}};
    std::vector<float> x(2 * 4);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.2f * float(i) - 0.7f;
    auto out = [&](const sp::genotype& g) {
        sp::apply(net, g);
        const float* y = net.forward_raw(x.data(), 2, false);
        return std::vector<float>(y, y + 4);
    };
    const sp::genotype trained{1, 0, 0}, shares_a{1, 1, 0}, disjoint_a{0, 1, 0};
    const auto before_shared = out(shares_a), before_other = out(disjoint_a);
    const std::vector<float> w0(net.params().begin(), net.params().end());

    // one SGD step on `trained` (a single path of the supernet)
    sp::apply(net, trained);
    net.zero_grad();
    net.forward_raw(x.data(), 2, true);
    const std::vector<float> dy(4, 1.0f);
    net.backward_raw(dy.data());
    for (std::size_t i = 0; i < net.params().size(); ++i) net.params()[i] -= 0.1f * net.grads()[i];

    // exactly the active ranges of `trained` moved
    const auto active = at::active_params<sp>(trained);
    for (std::size_t i = 0; i < w0.size(); ++i) {
        bool in = false;
        for (const auto& r : active) in = in || (i >= r.begin && i < r.end);
        if (!in) CHECK(net.params()[i] == w0[i]);
    }
    std::size_t moved = 0;
    for (std::size_t i = 15; i < 30; ++i) moved += net.params()[i] != w0[i];
    CHECK(moved == 15);
    // a genotype sharing the trained alternative of "a" sees the new weights...
    CHECK(out(shares_a) != before_shared);
    // ...one sharing only the first depth block and b (a = d3) too; restoring those restores its output
    CHECK(out(disjoint_a) != before_other);
    std::copy(w0.begin() + 30, w0.begin() + 42, net.params().begin() + 30);
    std::copy(w0.begin() + 54, w0.begin() + 62, net.params().begin() + 54);
    CHECK(out(disjoint_a) == before_other);
}

TEST_CASE("sample_path applies a uniform genotype") {
    sp::network_type net{at::seed{1}};
    at::rng r{at::seed{2}}, same{at::seed{2}};
    for (int t = 0; t < 10; ++t) {
        const auto g = at::sample_path<sp>(net, r);
        CHECK(g == sp::sample(same));
        CHECK(net.state()[0] == float(g[0]));  // the first choice's selector
    }
}
