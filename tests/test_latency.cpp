// estimate/latency.hpp: the per-leaf table covers every distinct leaf once, lut(g) and lut_by_kind(g)
// sum exactly the leaves g runs, the cache file is reused only for the same format, host key, timing
// method and leaves; the interleaved timing visits items in rotated rounds and keeps the order
// statistic asked for (the minimum ignores a disturbed run); the predictor recovers a known linear
// law from a table read from a file (no timing involved); measured latencies order networks whose
// work differs by an order of magnitude.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "archetype/estimate/latency_predictor.hpp"
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

std::vector<std::string> read_lines(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}
void write_lines(const std::filesystem::path& p, const std::vector<std::string>& lines) {
    std::ofstream out(p, std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
}
}  // namespace

TEST_CASE("the table has one entry per distinct leaf; lut and lut_by_kind sum the leaves a genotype runs") {
    // dense<16> on 64 inputs appears in both alternatives of b: one entry
    CHECK(at::latency_table<space>::leaves() == std::vector<std::string>{d512, d64_512, ident, relu, d16, d64, d8});
    const auto t = at::latency_table<space>::build(quick);
    CHECK(t.size() == 7);
    const space::genotype wide_d16{0, 0}, id_d64{1, 1};
    CHECK(t.lut(wide_d16) == t.at(d512) + t.at(d64_512) + t.at(relu) + t.at(d16) + t.at(d8));
    CHECK(t.lut(id_d64) == t.at(ident) + t.at(relu) + t.at(d64) + t.at(d16) + t.at(d8));
    CHECK(t.at(d512) > t.at(ident));  // 32,768 MACs per sample against a copy of 64 floats
    CHECK_THROWS_WITH_AS(t.at("archetype::dense<3, true>@1x1x1"), doctest::Contains("no entry for leaf"), at::error);

    CHECK(at::latency_table<space>::kind_of(d512) == "archetype::dense");
    CHECK(at::latency_table<space>::kind_of(relu) == "archetype::relu");
    CHECK(t.kinds() == std::vector<std::string>{"archetype::dense", "archetype::identity", "archetype::relu"});
    const auto k = t.lut_by_kind(id_d64);
    REQUIRE(k.size() == 3);
    CHECK(k[0] == t.at(d64) + t.at(d16) + t.at(d8));
    CHECK(k[1] == t.at(ident));
    CHECK(k[2] == t.at(relu));
    CHECK(t.lut_by_kind(wide_d16)[1] == 0.0);  // no identity leaf runs

    const auto f = at::latency_features<space>(wide_d16, t);
    REQUIRE(f.size() == 5);
    CHECK(f[0] == double(space::cost_of(wide_d16).macs));
    CHECK(f[3] == 5);  // leaves run
    CHECK(f[4] == t.lut(wide_d16));
}

TEST_CASE("the cache file is used for the same format, key, method and leaves, and rebuilt otherwise") {
    test_support::temp_dir dir("latency");
    const auto path = dir / "lut.txt";
    const auto first = at::latency_table<space>::load_or_build(path, quick);
    CHECK(first.rebuilt_because().find("no cache file") != std::string::npos);
    const auto again = at::latency_table<space>::load_or_build(path, quick);
    CHECK(again.rebuilt_because().empty());
    CHECK(again.method() == at::method_name(quick));
    for (const auto& n : at::latency_table<space>::leaves()) CHECK(again.at(n) == first.at(n));  // exact round trip
    const auto lines = read_lines(path);
    REQUIRE(lines.size() == 3 + 7);
    CHECK(lines[0] == "archetype-latency-table 2");
    CHECK(lines[2] == "method wall q0 of 3 runs >= 0.0005 s, warmup 1");

    auto other = quick;
    other.batch = 8;  // another key
    CHECK(at::latency_table<space>::load_or_build(path, other).rebuilt_because().find("another host or build") !=
          std::string::npos);
    CHECK(at::latency_table<space>::load_or_build(path, other).rebuilt_because().empty());  // rewritten for it
    auto median = other;
    median.quantile = 0.5;  // same key, another timing method
    CHECK(at::latency_table<space>::load_or_build(path, median).rebuilt_because().find("another timing method") !=
          std::string::npos);
    CHECK(at::latency_table<space>::load_or_build(path, median).rebuilt_because().empty());

    auto rewrite = [&](auto edit) {
        auto l = read_lines(path);
        edit(l);
        write_lines(path, l);
    };
    rewrite([](std::vector<std::string>& l) { l.pop_back(); });
    CHECK(at::latency_table<space>::load_or_build(path, median).rebuilt_because().find("lacks leaf") != std::string::npos);
    rewrite([](std::vector<std::string>& l) { l[3] = "fast\t" + l[3].substr(l[3].find('\t') + 1); });
    CHECK(at::latency_table<space>::load_or_build(path, median).rebuilt_because().find("malformed line") !=
          std::string::npos);
    rewrite([](std::vector<std::string>& l) { l[0] = "archetype-latency-table 1"; });  // the median-timed format
    CHECK(at::latency_table<space>::load_or_build(path, median).rebuilt_because().find("not a latency table") !=
          std::string::npos);
}

TEST_CASE("interleaved timing: rotated rounds, fixed forwards per run, the order statistic asked for") {
    SUBCASE("visit order and forward counts") {
        std::vector<std::size_t> visits;
        std::vector<std::size_t> runs(3, 0);
        std::size_t current = 0;
        const at::latency_options o{.batch = 1, .threads = 1, .warmup = 2, .repeats = 4, .min_seconds = 0.0, .seed = 1};
        const auto us = at::detail::time_interleaved_us(
            3, [&](std::size_t i) { visits.push_back(current = i); }, [&] { ++runs[current]; }, o);
        CHECK(us.size() == 3);
        // round r visits 3 items starting at item r mod 3
        CHECK(visits == std::vector<std::size_t>{0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2});
        // min_seconds 0: one timed forward per run, after 2 warm-up forwards: 4 rounds × 3
        CHECK(runs == std::vector<std::size_t>{12, 12, 12});
    }
    SUBCASE("the minimum ignores one disturbed run, the maximum sees it") {
        std::size_t calls = 0;
        auto run = [&] {
            if (++calls == 6) std::this_thread::sleep_for(std::chrono::milliseconds(30));  // the third timed run
        };
        at::latency_options o{.batch = 1, .threads = 1, .warmup = 1, .repeats = 5, .min_seconds = 0.0, .seed = 1};
        const double fastest = at::detail::time_interleaved_us(1, [](std::size_t) {}, run, o)[0];
        calls = 0;
        o.quantile = 1.0;
        const double slowest = at::detail::time_interleaved_us(1, [](std::size_t) {}, run, o)[0];
        CHECK(fastest < 10'000.0);  // an empty call takes nanoseconds; 10 ms leaves room for a loaded machine
        CHECK(slowest >= 30'000.0);
    }
    SUBCASE("order statistics") {
        CHECK(at::detail::order_statistic({5, 1, 3, 2, 4}, 0.0) == 1);
        CHECK(at::detail::order_statistic({5, 1, 3, 2, 4}, 0.25) == 2);
        CHECK(at::detail::order_statistic({5, 1, 3, 2, 4}, 0.5) == 3);
        CHECK(at::detail::order_statistic({5, 1, 3, 2, 4}, 1.0) == 5);
        CHECK(at::detail::order_statistic({4, 1, 3, 2}, 0.5) == 2);  // the lower neighbour
    }
    SUBCASE("invalid options") {
        auto o = quick;
        o.repeats = 0;
        CHECK_THROWS_WITH_AS(at::measure_latency<space>({0, 0}, o), doctest::Contains("repeats is 0"), at::error);
        o = quick;
        o.quantile = 1.5;
        CHECK_THROWS_WITH_AS(at::latency_table<space>::build(o), doctest::Contains("outside [0, 1]"), at::error);
        o = quick;
        o.clock = at::latency_clock::thread_cpu;
        o.threads = 2;
        CHECK_THROWS_WITH_AS(at::measure_latency<space>({0, 0}, o), doctest::Contains("wall clock"), at::error);
    }
}

namespace {
// 3 · 3 · 2 = 18 architectures on 32 features; leaves of kinds dense, identity and relu.
using pa = at::choice<"a", at::option<"dense", at::dense<32>>, at::option<"dense_relu", at::sequential<at::dense<32>, at::relu>>,
                      at::option<"skip", at::identity>>;
using pb = at::choice<"b", at::option<"relu", at::relu>, at::option<"two", at::sequential<at::dense<32>, at::dense<32>>>,
                      at::option<"skip", at::identity>>;
using pc = at::choice<"c", at::option<"wide", at::sequential<at::dense<64>, at::relu, at::dense<32>>>,
                      at::option<"skip", at::identity>>;
using pspace = at::search_space<at::shape{32, 1, 1}, at::sequential<pa, pb, pc, at::dense<4>>>;
}  // namespace

TEST_CASE("the predictor recovers a known law: intercept, per-kind factors and a per-leaf cost") {
    // A table with chosen entries, read from a cache file written for this host and method.
    test_support::temp_dir dir("latency_predictor");
    const auto path = dir / "lut.txt";
    const auto names = at::latency_table<pspace>::leaves();
    REQUIRE(names.size() == 7);  // dense<32>@32, relu@32, identity@32, dense<64>@32, relu@64, dense<32>@64, dense<4>@32
    std::vector<std::string> lines{"archetype-latency-table 2", "key " + at::host_key(quick),
                                   "method " + at::method_name(quick)};
    const double entries[] = {1.25, 0.5, 0.125, 3.0, 0.75, 2.5, 0.375};
    for (std::size_t i = 0; i < names.size(); ++i) lines.push_back(std::to_string(entries[i]) + "\t" + names[i]);
    write_lines(path, lines);
    const auto table = at::latency_table<pspace>::load_or_build(path, quick);
    REQUIRE(table.rebuilt_because().empty());
    REQUIRE(table.kinds() == std::vector<std::string>{"archetype::dense", "archetype::identity", "archetype::relu"});

    at::latency_predictor<pspace> p(table);
    auto law = [&](const pspace::genotype& g) {  // 2 + 1.5·dense + 4·identity + 0.5·relu + 3 per leaf
        const auto f = p.features(g);
        REQUIRE(f.size() == 4);
        return 2 + 1.5 * f[0] + 4 * f[1] + 0.5 * f[2] + 3 * f[3];
    };
    const pspace::genotype g{1, 1, 0};  // dense, relu | dense, dense | dense<64>, relu, dense | dense<4>
    CHECK(p.features(g) == std::vector<double>{1.25 + 1.25 + 1.25 + 3.0 + 2.5 + 0.375, 0.0, 0.5 + 0.75, 8.0});

    std::vector<pspace::genotype> all;
    using index = pspace::genotype::value_type;
    for (index a = 0; a < 3; ++a)
        for (index b = 0; b < 3; ++b)
            for (index c = 0; c < 2; ++c) all.push_back({a, b, c});
    std::vector<pspace::genotype> fit_gs, held;
    std::vector<double> us;
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (i % 3 == 2) {
            held.push_back(all[i]);
        } else {
            fit_gs.push_back(all[i]);
            us.push_back(law(all[i]));
        }
    }
    CHECK_THROWS_WITH_AS(p.predict(g), doctest::Contains("before fit"), at::error);
    REQUIRE(p.per_kind_samples() == 10);  // 2 · (3 kinds + intercept + leaves)
    p.fit(fit_gs, us);
    CHECK(p.per_kind());
    for (const auto& h : held) CHECK(p.predict(h) == doctest::Approx(law(h)).epsilon(1e-12));

    // Fewer samples than per_kind_samples(): the coarse features [lut, leaves] recover their own law.
    auto coarse_law = [&](const pspace::genotype& x) { return 5 + 2 * table.lut(x) + 0.25 * p.coarse_features(x)[1]; };
    const std::vector<pspace::genotype> few(fit_gs.begin(), fit_gs.begin() + 6);
    std::vector<double> few_us;
    for (const auto& x : few) few_us.push_back(coarse_law(x));
    p.fit(few, few_us);
    CHECK_FALSE(p.per_kind());
    CHECK(p.coarse_features(g) == std::vector<double>{table.lut(g), 8.0});
    for (const auto& h : held) CHECK(p.predict(h) == doctest::Approx(coarse_law(h)).epsilon(1e-12));

    CHECK_THROWS_WITH_AS(p.fit(fit_gs, {1.0}), doctest::Contains("one measured latency per genotype"), at::error);
    us[3] = 0;
    CHECK_THROWS_WITH_AS(p.fit(fit_gs, us), doctest::Contains("latency 3 is not a finite time"), at::error);
}

TEST_CASE("measured whole-network latency orders networks whose work differs tenfold") {
    const auto us = at::measure_latencies<space>({{0, 1}, {1, 0}}, quick);
    REQUIRE(us.size() == 2);
    CHECK(us[0] > us[1]);
    CHECK(at::measure_latency<space>({0, 1}, quick) > at::measure_latency<space>({1, 0}, quick));
    CHECK_THROWS_AS(at::measure_latencies<space>({{0, 2}}, quick), at::error);  // no alternative 2
    CHECK(at::host_key(quick).find("batch 4") != std::string::npos);
}
