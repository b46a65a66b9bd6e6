// Tabular benchmarks: the NAS-Bench-201 CSV and NAS-Bench-Macro JSON tables of ../shared/data, their
// errors, and short replays (few seeds) of regularized evolution, random search and NSGA-II on them.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "archetype/estimate/tabular.hpp"
#include "archetype/search/driver.hpp"
#include "archetype/search/nsga2.hpp"
#include "archetype/search/random_search.hpp"
#include "archetype/search/regularized_evolution.hpp"

namespace at = archetype;
namespace fs = std::filesystem;
using nb201 = at::nas_bench_201<>;
using nbm = at::nas_bench_macro;

namespace {
const at::nb201_table& nb201_table() {
    static const at::nb201_table t = at::load_nb201_table(ARCHETYPE_SHARED_DATA "/nas-bench-201_12epoch.csv");
    return t;
}
const at::nb_macro_table& macro_table() {
    static const at::nb_macro_table t = at::load_nb_macro_table(ARCHETYPE_SHARED_DATA "/nas-bench-macro_cifar10.json");
    return t;
}
std::string error_of(auto&& f) {
    try {
        f();
    } catch (const at::error& e) {
        return e.what();
    }
    return "(no error)";
}
struct temp_file {
    fs::path path;
    temp_file(const std::string& name, const std::string& text)
        : path(fs::temp_directory_path() / ("archetype_tab_" + std::to_string(::getpid()) + "_" + name)) {
        std::ofstream(path) << text;
    }
    ~temp_file() { fs::remove(path); }
};
}  // namespace

TEST_CASE("the NAS-Bench-201 table: every cell once, its columns, known rows and maxima") {
    const auto& t = nb201_table();
    CHECK(t.columns() == std::vector<std::string>{"arch", "cifar10-test", "cifar10-val", "cifar100-test",
                                                  "cifar100-val", "imagenet-test", "imagenet-val"});
    // Rows 0 and 1 of the CSV, keyed by their cell strings.
    const auto g0 = at::parse_nb201_string(
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|");
    CHECK(t.value(g0, "arch") == 0);
    CHECK(t.value(g0, "cifar10-test") == 69.55);
    CHECK(t.value(g0, "cifar10-val") == 63.36399998046875);
    CHECK(t.value(g0, "imagenet-val") == 18.466666661580405);
    const auto g1 = at::parse_nb201_string(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|");
    CHECK(t.value(g1, "arch") == 1);
    CHECK(t.value(g1, "cifar100-test") == 58.25999995727539);
    // Maxima of the test columns (data README) and every arch index exactly once.
    double best[3] = {0, 0, 0};
    std::vector<int> arch_seen(at::nb201_table::rows, 0);
    for (std::size_t r = 0; r < at::nb201_table::rows; ++r) {
        const auto g = at::nb201_table::genotype_of(r);
        CHECK_MESSAGE(at::nb201_table::row_of(g) == r, r);
        best[0] = std::max(best[0], t.value(g, "cifar10-test"));
        best[1] = std::max(best[1], t.value(g, "cifar100-test"));
        best[2] = std::max(best[2], t.value(g, "imagenet-test"));
        ++arch_seen.at(std::size_t(t.value(g, "arch")));
    }
    CHECK(best[0] == doctest::Approx(89.16).epsilon(1e-9));
    CHECK(best[1] == doctest::Approx(61.18).epsilon(1e-9));
    CHECK(best[2] == doctest::Approx(38.27).epsilon(1e-4));  // 38.27 rounded in the README
    CHECK(std::count(arch_seen.begin(), arch_seen.end(), 1) == 15625);
}

TEST_CASE("the NAS-Bench-Macro table: every key once, known entries, best and worst") {
    const auto& t = macro_table();
    CHECK(t.columns() == std::vector<std::string>{"mean_acc", "std", "params", "flops"});
    const auto g = at::parse_nbm_key("02012100");
    CHECK(t.value(g, "mean_acc") == 89.19666544596355);
    CHECK(t.value(g, "std") == 0.21312667374448538);
    CHECK(t.value(g, "params") == 890666);
    CHECK(t.value(g, "flops") == 47327744);
    std::size_t best = 0, worst = 0;
    for (std::size_t r = 1; r < at::nb_macro_table::rows; ++r) {
        const auto x = at::nb_macro_table::genotype_of(r);
        if (t.value(x, 0) > t.value(at::nb_macro_table::genotype_of(best), 0)) best = r;
        if (t.value(x, 0) < t.value(at::nb_macro_table::genotype_of(worst), 0)) worst = r;
    }
    // The README's best, 22212220, shares its three runs (and so its mean) with 22212202, found first.
    CHECK(at::to_nbm_key(at::nb_macro_table::genotype_of(best)) == "22212202");
    CHECK(t.value(at::parse_nbm_key("22212220"), "mean_acc") == t.value(at::nb_macro_table::genotype_of(best), 0));
    CHECK(t.value(at::nb_macro_table::genotype_of(best), "mean_acc") == doctest::Approx(93.13).epsilon(1e-4));
    CHECK(at::to_nbm_key(at::nb_macro_table::genotype_of(worst)) == "00000000");
    CHECK(t.value(at::nb_macro_table::genotype_of(worst), "mean_acc") == doctest::Approx(45.36).epsilon(1e-4));
}

TEST_CASE("malformed tables are errors naming the file, the line or key, and the fix") {
    const std::string header = "arch,cellstr,cifar10-test,cifar10-val\n";
    const std::string row0 = "0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10,11\n";
    {
        temp_file f("short.csv", header + row0);
        CHECK(error_of([&] { at::load_nb201_table(f.path); }) ==
              "archetype: benchmark table " + f.path.string() + ": 15624 of 15625 genotypes have no row (e.g. "
              "|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|); use the complete table");
    }
    {
        temp_file f("dup.csv", header + row0 + row0);
        CHECK(error_of([&] { at::load_nb201_table(f.path); }) ==
              "archetype: benchmark table " + f.path.string() + ": line 3 repeats a genotype given before");
    }
    {
        temp_file f("num.csv", header + "0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10,1x\n");
        CHECK(error_of([&] { at::load_nb201_table(f.path); }) ==
              "archetype: NAS-Bench-201 table " + f.path.string() + ": line 2, column cifar10-val: \"1x\" is not a number");
    }
    {
        temp_file f("cell.csv", header + "0,|none~0|+|none~0|conv~1|+|none~0|none~1|none~2|,10,11\n");
        CHECK(error_of([&] { at::load_nb201_table(f.path); })
                  .find(": line 2: NAS-Bench-201 cell string") != std::string::npos);
    }
    {
        temp_file f("cols.csv", "arch,cellstr,cifar100-test\n");
        CHECK(error_of([&] { at::load_nb201_table(f.path); }).find("no column \"cifar10-test\"; it has arch, "
                                                                    "cifar100-test") != std::string::npos);
    }
    {
        temp_file f("key.json", R"({"0201210": {"mean_acc": 1, "std": 0, "params": 1, "flops": 1}})");
        CHECK(error_of([&] { at::load_nb_macro_table(f.path); })
                  .find("NAS-Bench-Macro key \"0201210\" has 7 characters") != std::string::npos);
    }
    {
        temp_file f("field.json", R"({"02012100": {"mean_acc": 1, "std": 0, "params": 1}})");
        CHECK(error_of([&] { at::load_nb_macro_table(f.path); }) ==
              "archetype: NAS-Bench-Macro table " + f.path.string() +
                  ": entry \"02012100\" has no number \"flops\"; each entry needs mean_acc, std, params and flops");
    }
    CHECK(error_of([] { at::table_replay<at::nb201_table>(nb201_table(), {"cifar10-valid"}); })
              .find("no column \"cifar10-valid\"; it has arch, cifar10-test") != std::string::npos);
}

namespace {
// Test accuracy (on `data`) of the best-by-validation architecture of one search of 100 evaluations.
template <class Strategy>
double replay_nb201(Strategy s, const std::string& data) {
    at::search_driver driver(s);
    driver.run(at::table_replay<at::nb201_table>(nb201_table(), {data + "-val"}));
    const auto& h = s.history();
    CHECK(h.size() == 100);
    return h[static_cast<const at::strategy<nb201>&>(s).best(0)].result.metrics.at(data + "-test");
}
}  // namespace

TEST_CASE("replay: regularized evolution beats random search on NAS-Bench-201 (20 seeds)") {
    double rea = 0, rs = 0;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        rea += replay_nb201(at::regularized_evolution<nb201>({.population = 10, .sample = 3, .budget = 100},
                                                              at::seed{seed}),
                            "cifar10");
        rs += replay_nb201(at::random_search<nb201>({.budget = 100}, at::seed{seed}), "cifar10");
    }
    rea /= 20, rs /= 20;
    MESSAGE("NB201 cifar10 test of best-by-val, 20 seeds: REA " << rea << ", RS " << rs);
    CHECK(rea >= 88.3);
    CHECK(rea > rs + 0.1);
}

TEST_CASE("replay: NSGA-II finds most of the NAS-Bench-Macro front's hypervolume (5 seeds)") {
    const auto& t = macro_table();
    const std::vector<at::direction> dirs{at::direction::maximize, at::direction::minimize};
    std::vector<at::objective_vector> all;
    double lowest = 1e300, highest = 0;
    for (std::size_t r = 0; r < at::nb_macro_table::rows; ++r) {
        const auto g = at::nb_macro_table::genotype_of(r);
        all.push_back({t.value(g, "mean_acc"), t.value(g, "flops")});
        lowest = std::min(lowest, all.back()[0]);
        highest = std::max(highest, all.back()[1]);
    }
    const at::objective_vector ref{lowest, highest};
    const double true_hv = at::hypervolume(all, ref, dirs);
    CHECK(true_hv > 0);
    auto fraction = [&](auto s) {
        at::search_driver(s).run(at::table_replay<at::nb_macro_table>(t, {"mean_acc", "flops"}));
        std::vector<at::objective_vector> pts;
        for (const auto& h : s.history()) pts.push_back(h.result.objectives);
        return at::hypervolume(pts, ref, dirs) / true_hv;
    };
    double nsga = 0, rs = 0;
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
        nsga += fraction(at::nsga2<nbm>({.population = 20, .budget = 300}, at::seed{seed}));
        rs += fraction(at::random_search<nbm>({.budget = 300, .directions = dirs}, at::seed{seed}));
    }
    nsga /= 5, rs /= 5;
    MESSAGE("NB-Macro hypervolume fraction, budget 300, 5 seeds: NSGA-II " << nsga << ", RS " << rs);
    CHECK(nsga >= 0.975);
    CHECK(nsga > rs);
}
