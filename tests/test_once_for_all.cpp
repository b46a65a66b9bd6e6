// The Once-for-All elastic MobileNetV3 space: decisions, counts checked by hand, per-genotype costs
// against a hand-written cost formula, and a runnable network.
#include <doctest/doctest.h>

#include <cmath>

#include "archetype/space/canonical.hpp"
#include "archetype/space/genotype_text.hpp"
#include "archetype/space/once_for_all.hpp"

namespace at = archetype;

using ofa224 = at::ofa_space<224, 100, 1000>;
using ofa32 = at::ofa_space<32, 100, 10>;  // the same decisions on 32×32 inputs (1×1 after the last stage)

static_assert(ofa224::decision_count == 45);
static_assert(ofa224::decisions[0].name == "s1_depth" && ofa224::decisions[1].name == "s1_b0_k" &&
              ofa224::decisions[2].name == "s1_b0_e" && ofa224::decisions[8].name == "s1_b3_e" &&
              ofa224::decisions[9].name == "s2_depth" && ofa224::decisions[44].name == "s5_b3_e");
static_assert(at::ofa::width(16, 120) == 24 && at::ofa::width(112, 120) == 136 && at::ofa::width(1280, 120) == 1536);
static_assert(at::ofa::width(40, 100) == 40 && at::ofa::width(24, 120) == 32);

TEST_CASE("OFA counts: 3^45 genotypes, 7371^5 architectures per network, x 25 resolutions x 2 widths") {
    // 3^45 by hand: 3^15 = 14348907, (3^15)^3 = 2954312706550833698643
    CHECK(ofa224::cardinality.str() == "2954312706550833698643");
    // per stage 9^2 + 9^3 + 9^4 = 81 + 729 + 6561 = 7371 (kernel × expand per active block); 5 stages
    CHECK(at::ofa::architectures_per_network.str() == "21758655492572485851");  // 7371^5 ≈ 2.2e19
    CHECK(at::ofa::architectures.str() == "1087932774628624292550");          // × 25 × 2 ≈ 1.1e21
    MESSAGE("OFA space: " << ofa224::cardinality.str() << " genotypes, " << at::ofa::architectures_per_network.str()
                          << " distinct architectures per (resolution, width), " << at::ofa::architectures.str()
                          << " with the 25 resolutions and 2 widths");
    // the canonical forms of a sample of one stage's genotypes confirm the per-stage count's structure
    at::rng r{at::seed{1}};
    for (int t = 0; t < 200; ++t) {
        const auto g = ofa224::sample(r);
        const auto active = at::active_decisions<ofa224>(g);
        std::size_t n = 0;
        for (bool a : active) n += a;
        std::size_t blocks = 0;
        for (std::size_t s = 0; s < 5; ++s) blocks += 2 + g[9 * s];
        CHECK(n == 5 + 2 * blocks);  // every depth, and kernel and expand of every running block
    }
}

// Params and MACs of a genotype written out from the architecture's definition (not from the library).
at::cost hand_cost(const ofa224::genotype& g) {
    const std::size_t ks[] = {3, 5, 7}, es[] = {3, 4, 6};
    const std::size_t widths[] = {24, 40, 80, 112, 160}, strides[] = {2, 2, 2, 1, 2};
    std::size_t params = 0, macs = 0, hw = 112;            // after the stem
    params += 3 * 16 * 9 + 32, macs += 3 * 16 * 9 * hw * hw;  // stem conv + BN
    params += 16 * 9 + 32 + 16 * 16 + 32;                    // first block: depthwise, BN, project, BN
    macs += (16 * 9 + 16 * 16) * hw * hw;
    std::size_t c = 16;
    for (std::size_t s = 0; s < 5; ++s) {
        const std::size_t depth = 2 + g[9 * s], o = widths[s];
        for (std::size_t b = 0; b < depth; ++b) {
            const std::size_t k = ks[g[9 * s + 1 + 2 * b]], h = es[g[9 * s + 2 + 2 * b]] * c;
            const std::size_t stride = b == 0 ? strides[s] : 1, out_hw = (hw - 1) / stride + 1;
            params += c * h + 2 * h + h * k * k + 2 * h + h * o + 2 * o;
            macs += c * h * hw * hw + (h * k * k + h * o) * out_hw * out_hw;
            c = o;
            hw = out_hw;
        }
    }
    params += 160 * 960 + 2 * 960 + 960 * 1280 + 1280 * 1000 + 1000;
    macs += 160 * 960 * hw * hw + 960 * 1280 + 1280 * 1000;
    return {params, macs, 0};
}

TEST_CASE("per-genotype params and MACs equal the hand-written formula") {
    at::rng r{at::seed{7}};
    for (int t = 0; t < 100; ++t) {
        const auto g = ofa224::sample(r);
        const auto c = ofa224::cost_of(g), h = hand_cost(g);
        CHECK(c.params == h.params);
        CHECK(c.macs == h.macs);
    }
    ofa224::genotype smallest{}, largest{};
    for (auto& v : largest) v = 2;
    MESSAGE("OFA at 224, width 1.0: smallest " << ofa224::cost_of(smallest).params << " params / "
                                               << ofa224::cost_of(smallest).macs << " MACs, largest "
                                               << ofa224::cost_of(largest).params << " params / "
                                               << ofa224::cost_of(largest).macs << " MACs");
    CHECK(ofa224::cost_of(smallest).macs < ofa224::cost_of(largest).macs);
}

TEST_CASE("a network of the space runs any genotype; inactive decisions do not change it") {
    ofa32::network_type net{at::seed{2}};
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({2, 3, 32, 32});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = std::sin(0.01f * float(i));
    at::rng r{at::seed{3}};
    auto g = ofa32::sample(r);
    g[0] = 0;  // stage 1 at depth 2: its blocks 2 and 3 are inactive
    ofa32::apply(net, g);
    const auto y = net.forward(x);
    REQUIRE(y.shape()[0] == 2);
    REQUIRE(y.shape()[1] == 10);
    for (float v : y) CHECK(std::isfinite(v));
    auto h = g;
    h[5] = std::uint16_t((h[5] + 1) % 3);  // s1_b2_k, inactive
    CHECK(at::same_architecture<ofa32>(g, h));
    ofa32::apply(net, h);
    CHECK(net.forward(x) == y);
    h[3] = std::uint16_t((h[3] + 1) % 3);  // s1_b1_k, active
    ofa32::apply(net, h);
    CHECK(net.forward(x) != y);
    // codegen writes the compile-time twins
    const std::string spelled = at::resolved_spelling<ofa32>(at::parse_text<ofa32>(at::to_text<ofa32>(g)));
    CHECK(spelled.find("archetype::mbconv<16, 3, 1, 1, archetype::relu>") != std::string::npos);
    CHECK(spelled.find("dyn_") == std::string::npos);
    CHECK(spelled.find("archetype::conv2d<960, 1, 1, 0, 1, 1, false>") != std::string::npos);
}

TEST_CASE("resolution and width are chosen outside the type") {
    int ran = 0;
    at::ofa::dispatch<at::int_values<32, 64>, at::int_values<100>, 10>(64, 100, [&]<class S>() {
        ran = S::network_type::input_shape.h;
    });
    CHECK(ran == 64);
    auto unknown = [] { at::ofa::dispatch<at::int_values<32>, at::int_values<100>, 10>(224, 120, []<class S>() {}); };
    CHECK_THROWS_WITH_AS(unknown(), doctest::Contains("resolution 224 at width 120% is not instantiated"), at::error);
}
