// estimate/latency.hpp: the per-leaf table covers every distinct leaf once, lut(g) sums exactly the
// leaves g runs, the cache file is reused only for the same host key and leaves, and measured
// latencies order networks whose work differs by an order of magnitude.
#include <doctest/doctest.h>

#include <fstream>

#include "archetype/estimate/latency.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"
#include "support/temp_dir.hpp"

namespace at = archetype;

namespace {
using a_choice = at::choice<"a", at::option<"wide", at::sequential<at::dense<512>, at::dense<64>>>,
                            at::option<"id", at::identity>>;
using b_choice = at::choice<"b", at::option<"d16", at::dense<16>>,
                            at::option<"d64", at::sequential<at::dense<64>, at::dense<16>>>>;
using space = at::search_space<at::shape{64, 1, 1}, at::sequential<a_choice, at::relu, b_choice, at::dense<8>>>;

const at::latency_options quick{.batch = 4, .threads = 1, .warmup = 1, .repeats = 3, .min_seconds = 0.0005, .seed = 1};

std::string leaf(const std::string& spelling, int c) { return spelling + "@" + std::to_string(c) + "x1x1"; }
const std::string d512 = leaf("archetype::dense<512, true>", 64), d64_512 = leaf("archetype::dense<64, true>", 512),
                  ident = leaf("archetype::identity", 64), relu = leaf("archetype::relu", 64),
                  d16 = leaf("archetype::dense<16, true>", 64), d64 = leaf("archetype::dense<64, true>", 64),
                  d8 = leaf("archetype::dense<8, true>", 16);
}  // namespace

TEST_CASE("the table has one entry per distinct leaf and lut sums the leaves a genotype runs") {
    // dense<16> on 64 inputs appears in both alternatives of b: one entry
    CHECK(at::latency_table<space>::leaves() == std::vector<std::string>{d512, d64_512, ident, relu, d16, d64, d8});
    const auto t = at::latency_table<space>::build(quick);
    CHECK(t.size() == 7);
    const space::genotype wide_d16{0, 0}, id_d64{1, 1};
    CHECK(t.lut(wide_d16) == t.at(d512) + t.at(d64_512) + t.at(relu) + t.at(d16) + t.at(d8));
    CHECK(t.lut(id_d64) == t.at(ident) + t.at(relu) + t.at(d64) + t.at(d16) + t.at(d8));
    CHECK(t.at(d512) > t.at(ident));  // 32,768 MACs per sample against a copy of 64 floats
    CHECK_THROWS_WITH_AS(t.at("archetype::dense<3, true>@1x1x1"), doctest::Contains("no entry for leaf"), at::error);

    const auto f = at::latency_features<space>(wide_d16, t);
    REQUIRE(f.size() == 5);
    CHECK(f[0] == double(space::cost_of(wide_d16).macs));
    CHECK(f[3] == 5);  // leaves run
    CHECK(f[4] == t.lut(wide_d16));
}

TEST_CASE("the cache file is used for the same key and leaves, and rebuilt otherwise") {
    test_support::temp_dir dir("latency");
    const auto path = dir / "lut.txt";
    const auto first = at::latency_table<space>::load_or_build(path, quick);
    CHECK(first.rebuilt_because().find("no cache file") != std::string::npos);
    const auto again = at::latency_table<space>::load_or_build(path, quick);
    CHECK(again.rebuilt_because().empty());
    for (const auto& n : at::latency_table<space>::leaves()) CHECK(again.at(n) == first.at(n));  // exact round trip

    auto other = quick;
    other.batch = 8;  // another key
    CHECK(at::latency_table<space>::load_or_build(path, other).rebuilt_because().find("another host or build") !=
          std::string::npos);
    CHECK(at::latency_table<space>::load_or_build(path, other).rebuilt_because().empty());  // rewritten for it

    auto rewrite = [&](auto edit) {
        std::ifstream in(path);
        std::vector<std::string> lines;
        for (std::string l; std::getline(in, l);) lines.push_back(l);
        edit(lines);
        std::ofstream out(path, std::ios::trunc);
        for (const auto& l : lines) out << l << "\n";
    };
    rewrite([](std::vector<std::string>& l) { l.pop_back(); });
    CHECK(at::latency_table<space>::load_or_build(path, other).rebuilt_because().find("lacks leaf") != std::string::npos);
    rewrite([](std::vector<std::string>& l) { l[2] = "fast\t" + l[2].substr(l[2].find('\t') + 1); });
    CHECK(at::latency_table<space>::load_or_build(path, other).rebuilt_because().find("malformed line") !=
          std::string::npos);
    rewrite([](std::vector<std::string>& l) { l[0] = "archetype-latency-table 0"; });
    CHECK(at::latency_table<space>::load_or_build(path, other).rebuilt_because().find("not a latency table") !=
          std::string::npos);
}

TEST_CASE("measured whole-network latency orders networks whose work differs tenfold") {
    const double wide = at::measure_latency<space>({0, 1}, quick), narrow = at::measure_latency<space>({1, 0}, quick);
    CHECK(wide > narrow);
    CHECK(at::host_key(quick).find("batch 4") != std::string::npos);
}
