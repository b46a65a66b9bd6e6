// NAS-Bench-Macro: the space's decisions, its keys, and the cost model against the published table:
// params and flops of all 6,561 architectures in ../shared/data/nas-bench-macro_cifar10.json.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "archetype/io/json.hpp"
#include "archetype/space/nas_bench_macro.hpp"

namespace at = archetype;
using sp = at::nas_bench_macro;

static_assert(sp::decision_count == 8);
static_assert(sp::cardinality == at::big_count{6561});
static_assert(std::is_same_v<sp::genotype, at::nbm_genotype>);
static_assert(sp::decisions[0].name == "layer0" && sp::decisions[7].name == "layer7");
static_assert(sp::decisions[3].labels[0] == "0" && sp::decisions[3].labels[2] == "2");
static_assert(sp::network_type::output_shape == at::shape{10, 1, 1});
// Constant-evaluated costs of the table's best and worst entries ("22212220": 1,985,514 params,
// 85,164,544 flops; "00000000": 387,882 and 7,713,280).
static_assert(sp::cost_of(sp::genotype{2, 2, 2, 1, 2, 2, 2, 0}).params == 1985514);
static_assert(sp::cost_of(sp::genotype{2, 2, 2, 1, 2, 2, 2, 0}).macs == 85164544);
static_assert(sp::cost_of(sp::genotype{0, 0, 0, 0, 0, 0, 0, 0}).params == 387882);
static_assert(sp::cost_of(sp::genotype{0, 0, 0, 0, 0, 0, 0, 0}).macs == 7713280);

TEST_CASE("the cost model reproduces params and flops of every NAS-Bench-Macro entry") {
    const at::json table = at::read_json_file(ARCHETYPE_SHARED_DATA "/nas-bench-macro_cifar10.json");
    REQUIRE(table.size() == 6561);
    std::set<std::string> keys;
    std::size_t params_equal = 0, flops_equal = 0;
    for (const auto& member : table.as_object()) {
        const std::string& key = member.first;  // not a structured binding: INFO captures it (clang 14)
        const at::json& entry = member.second;
        const auto g = at::parse_nbm_key(key);
        CHECK(at::to_nbm_key(g) == key);
        keys.insert(key);
        const at::cost c = sp::cost_of(g);
        const auto params = std::size_t(entry.at("params").as_integer());
        const auto flops = std::size_t(entry.at("flops").as_integer());
        params_equal += c.params == params;
        flops_equal += c.macs == flops;
        if (c.params != params || c.macs != flops) {
            INFO(key);
            CHECK(c.params == params);
            CHECK(c.macs == flops);
        }
    }
    CHECK(keys.size() == 6561);  // every member of the space, once
    CHECK(params_equal == 6561);
    CHECK(flops_equal == 6561);
}

TEST_CASE("keys round trip, name the layers in the text form, and bad keys are rejected") {
    at::rng r{at::seed{3}};
    for (int t = 0; t < 50; ++t) {
        const auto g = sp::sample(r);
        CHECK(at::parse_nbm_key(at::to_nbm_key(g)) == g);
    }
    CHECK(at::parse_nbm_key(" 22212220\n") == sp::genotype{2, 2, 2, 1, 2, 2, 2, 0});
    CHECK(at::to_text<sp>(sp::genotype{2, 2, 2, 1, 2, 2, 2, 0}) ==
          "layer0=2,layer1=2,layer2=2,layer3=1,layer4=2,layer5=2,layer6=2,layer7=0");
    CHECK_THROWS_WITH_AS(at::parse_nbm_key("2221222"), doctest::Contains("has 7 characters"), at::error);
    CHECK_THROWS_WITH_AS(at::parse_nbm_key("222122203"), doctest::Contains("has 9 characters"), at::error);
    CHECK_THROWS_WITH_AS(at::parse_nbm_key("22212a20"), doctest::Contains("character 6 (layer5) is 'a'"), at::error);
    CHECK_THROWS_WITH_AS(at::parse_nbm_key("22232220"), doctest::Contains("character 4 (layer3) is '3'"), at::error);
    CHECK_THROWS_WITH_AS(at::to_nbm_key(sp::genotype{0, 0, 3, 0, 0, 0, 0, 0}), doctest::Contains("layer2 has value 3"),
                         at::error);
}

TEST_CASE("the NAS-Bench-Macro network runs forward with finite outputs for several genotypes") {
    sp::network_type net{at::seed{7}};
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({2, 3, 32, 32});
    at::rng r{at::seed{1}};
    for (auto& v : x) v = r.uniform(-1.0f, 1.0f);
    std::set<float> firsts;
    for (const char* key : {"00000000", "22212220", "11111111", "01201201"}) {
        sp::apply(net, at::parse_nbm_key(key));
        const auto y = net.forward(x);
        REQUIRE(y.shape()[0] == 2);
        REQUIRE(y.shape()[1] == 10);
        for (float v : y) CHECK(std::isfinite(v));
        firsts.insert(y(0, 0));
        CHECK(y(0, 0) != y(1, 0));  // the two samples differ
    }
    CHECK(firsts.size() == 4);  // each genotype computes a different function
}
