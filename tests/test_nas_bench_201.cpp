// NAS-Bench-201: the space's decisions and costs, NB201 cell strings against all 15,625 rows of
// ../shared/data/nas-bench-201_12epoch.csv, and forward passes of the full and a small variant.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "archetype/space/nas_bench_201.hpp"

namespace at = archetype;
using sp = at::nas_bench_201<>;

static_assert(sp::decision_count == 6);
static_assert(sp::cardinality == at::big_count{15625});  // all 15 cells share one genotype
static_assert(std::is_same_v<sp::genotype, at::nb201_genotype>);
static_assert(sp::decisions[0].name == "edge_1_0" && sp::decisions[1].name == "edge_2_0" &&
              sp::decisions[2].name == "edge_2_1" && sp::decisions[3].name == "edge_3_0" &&
              sp::decisions[4].name == "edge_3_1" && sp::decisions[5].name == "edge_3_2");
static_assert(sp::decisions[0].labels[0] == "none" && sp::decisions[0].labels[4] == "avg_pool_3x3");
static_assert(sp::network_type::output_shape == at::shape{10, 1, 1});
// Costs by hand from the PyTorch definition (xautodl TinyNetwork). All edges none: stem 3·16·9 + 32,
// reductions (16·32·9 + 64 + 32·32·9 + 64 + 16·32) and (32·64·9 + 128 + 64·64·9 + 128 + 32·64), head
// BN 128 and dense 64·10 + 10. All nor_conv_3x3 adds 6·5·(9C² + 2C) for C = 16, 32, 64. These are the
// extremes NB201 reports (0.0733 and 1.5316 M params; 7.78 and 220.12 M MACs).
static_assert(sp::cost_of(sp::genotype{0, 0, 0, 0, 0, 0}).params == 73306);
static_assert(sp::cost_of(sp::genotype{0, 0, 0, 0, 0, 0}).macs == 7783040);
static_assert(sp::cost_of(sp::genotype{3, 3, 3, 3, 3, 3}).params == 1531546);
static_assert(sp::cost_of(sp::genotype{3, 3, 3, 3, 3, 3}).macs == 220119680);
static_assert(sp::cost_of(sp::genotype{2, 2, 2, 2, 2, 2}).params == 241306);
// skip, pooling and none cost the same: no weights
static_assert(sp::cost_of(sp::genotype{1, 4, 0, 1, 4, 0}).params == 73306);
static_assert(sp::cost_of(sp::genotype{1, 4, 0, 1, 4, 0}).macs == 7783040);

// A small variant for Fashion-MNIST: 1×28×28, C 8, one cell per stage (28 → 14 → 7).
using small = at::nas_bench_201<at::shape{1, 28, 28}, 8, 1>;
static_assert(small::cardinality == at::big_count{15625});
static_assert(small::cost_of(small::genotype{3, 3, 3, 3, 3, 3}).params == 91842);
static_assert(small::cost_of(small::genotype{3, 3, 3, 3, 3, 3}).macs == 9590208);

namespace {
struct row {
    long arch;
    std::string cell;
};
std::vector<row> read_table() {
    std::ifstream in(ARCHETYPE_SHARED_DATA "/nas-bench-201_12epoch.csv");
    REQUIRE(in.good());
    std::string line;
    std::getline(in, line);
    REQUIRE(line.rfind("arch,cellstr,", 0) == 0);
    std::vector<row> rows;
    while (std::getline(in, line)) {
        const auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
        rows.push_back({std::stol(line.substr(0, c1)), line.substr(c1 + 1, c2 - c1 - 1)});
    }
    return rows;
}
}  // namespace

TEST_CASE("every cell string of the NB201 table parses and prints back identically; the table is the space") {
    const auto rows = read_table();
    REQUIRE(rows.size() == 15625);
    std::set<std::uint64_t> indices;
    std::size_t identical = 0, mixed_radix = 0;
    for (const auto& r : rows) {
        const auto g = at::parse_nb201_string(r.cell);
        identical += at::to_nb201_string(g) == r.cell;
        indices.insert(sp::index_of(g).to_u64());
        mixed_radix += sp::index_of(g).to_u64() == std::uint64_t(r.arch);
    }
    CHECK(identical == 15625);
    CHECK(indices.size() == 15625);  // each member of the space exactly once
    CHECK(*indices.rbegin() == 15624);
    // NB201's own `arch` index is not the mixed-radix order of the edges: map it through the table
    CHECK(mixed_radix < 100);
    // the first row, decoded by hand
    CHECK(at::parse_nb201_string(rows[0].cell) == sp::genotype{4, 2, 1, 2, 1, 1});
}

TEST_CASE("malformed cell strings are rejected naming the character, the edge and the allowed operations") {
    const std::string good = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    CHECK(at::parse_nb201_string(good) == sp::genotype{3, 3, 3, 1, 3, 3});
    CHECK(at::parse_nb201_string("  " + good + "\r\n") == sp::genotype{3, 3, 3, 1, 3, 3});
    auto rejects = [](const std::string& s, const std::string& what) {
        INFO(s);
        CHECK_THROWS_WITH_AS(at::parse_nb201_string(s), doctest::Contains(what.c_str()), at::error);
        CHECK_THROWS_WITH_AS(at::parse_nb201_string(s), doctest::Contains("none, skip_connect, nor_conv_1x1, "
                                                                          "nor_conv_3x3, avg_pool_3x3"),
                             at::error);
    };
    rejects("|conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "at character 2, unknown operation \"conv_3x3\" on edge 0->1");
    rejects("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "\"none~2\" must end in ~1 (edge 1->2)");
    rejects("|none~0|+|none~0|none~1|+|none~0|none~1|", "expected op~2 closed by '|' for edge 2->3");
    rejects("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|x", "at character 48, unexpected text after");
    rejects("|none~0|none~0|none~1|+|none~0|none~1|none~2|", "expected '+' before the inputs of node 2");
    rejects("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "at character 1, expected '|' opening the inputs of node 1");
    rejects("|none|+|none~0|none~1|+|none~0|none~1|none~2|", "\"none\" must end in ~0 (edge 0->1)");
    rejects("", "expected '|' opening the inputs of node 1");
    CHECK_THROWS_WITH_AS(at::to_nb201_string(sp::genotype{0, 0, 5, 0, 0, 0}),
                         doctest::Contains("edge 1->2 has value 5"), at::error);
}

TEST_CASE("the NB201 network runs forward with finite outputs for several genotypes") {
    sp::network_type net{at::seed{5}};
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({2, 3, 32, 32});
    at::rng r{at::seed{2}};
    for (auto& v : x) v = r.uniform(-1.0f, 1.0f);
    std::set<float> firsts;
    for (const char* cell : {"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
                             "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
                             "|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"}) {
        sp::apply(net, at::parse_nb201_string(cell));
        const auto y = net.forward(x);
        REQUIRE(y.shape()[0] == 2);
        REQUIRE(y.shape()[1] == 10);
        for (float v : y) CHECK(std::isfinite(v));
        CHECK(y(0, 0) != y(1, 0));
        firsts.insert(y(0, 0));
    }
    CHECK(firsts.size() == 3);
    // all edges none: every cell outputs 0, so the reductions give 0 (BN β = 0 at initialisation) and
    // the logits are the dense layer's bias for every input (its last 10 parameters)
    sp::apply(net, sp::genotype{0, 0, 0, 0, 0, 0});
    const auto y = net.forward(x);
    const auto p = net.params();
    for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t k = 0; k < 10; ++k) CHECK(y(n, k) == p[p.size() - 10 + k]);
}

TEST_CASE("the space's network spells itself as C++ (for writing a winner out as a header)") {
    const std::string s = sp::network_type::spelling();
    CHECK(s.rfind("archetype::network<archetype::shape{3, 32, 32}, archetype::sequential<archetype::conv2d<16, 3, 1, 1, 1, 1, "
                  "false>, archetype::batch_norm, archetype::repeat<5, archetype::cell<4, archetype::choice<\"edge\", "
                  "archetype::option<\"none\", archetype::zero>, archetype::option<\"skip_connect\", archetype::identity>, "
                  "archetype::option<\"nor_conv_1x1\", archetype::relu_conv_bn_same<1, 1>>",
                  0) == 0);
    CHECK(s.find("archetype::nb201::reduction_block<32>, archetype::repeat<5, ") != std::string::npos);
    CHECK(s.find("archetype::global_avg_pool, archetype::dense<10, true>>>") != std::string::npos);
}

TEST_CASE("the small 1x28x28 variant trains: finite gradients in training mode") {
    small::network_type net{at::seed{3}};
    small::apply(net, at::parse_nb201_string(
                          "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"));
    std::vector<float> x(4 * 28 * 28), dy(4 * 10);
    at::rng r{at::seed{4}};
    for (auto& v : x) v = r.uniform(0.0f, 1.0f);
    for (auto& v : dy) v = r.uniform(-1.0f, 1.0f);
    const float* y = net.forward_raw(x.data(), 4, true);
    for (std::size_t i = 0; i < dy.size(); ++i) CHECK(std::isfinite(y[i]));
    net.zero_grad();
    std::vector<float> dx(x.size());
    net.backward_raw(dy.data(), dx.data());
    double norm = 0;
    for (float g : net.grads()) {
        REQUIRE(std::isfinite(g));
        norm += double(g) * g;
    }
    CHECK(norm > 0);
    double dx_norm = 0;
    for (float g : dx) dx_norm += double(g) * g;
    CHECK(dx_norm > 0);
}
