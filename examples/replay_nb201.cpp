// Replays regularized evolution and random search on NAS-Bench-201 (12-epoch table) and prints the
// test accuracy of the best-by-validation architecture, mean ± std over seeds, per dataset.
//
//   replay_nb201 [--data DIR] [--seeds N] [--budget B] [--population P] [--sample S]
//
// Protocol (the search issue's): 100 evaluations per search; REA with P = 10, S = 3, one decision
// mutated per child; random search with the same budget; each search selects on <dataset>-val and
// reports <dataset>-test of its best-by-val architecture (for cifar10, cifar100 and imagenet =
// ImageNet16-120); seeds 0..N-1 (200 by default). A search is a search_driver over a table_replay;
// the budget counts every evaluation, repeats included. DIR defaults to ../shared/data.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "archetype/estimate/tabular.hpp"
#include "archetype/io/progress.hpp"
#include "archetype/search/driver.hpp"
#include "archetype/search/random_search.hpp"
#include "archetype/search/regularized_evolution.hpp"
#include "cli.hpp"

namespace at = archetype;
using space = at::nas_bench_201<>;

namespace {

#ifdef ARCHETYPE_SHARED_DATA
constexpr const char* default_data = ARCHETYPE_SHARED_DATA;
#else
constexpr const char* default_data = "../shared/data";
#endif

struct options {
    std::string data = default_data;
    std::size_t seeds = 200, budget = 100, population = 10, sample = 3;
};

options parse(int argc, char** argv) {
    options o;
    examples::cli args("replay_nb201", "replays REA and random search on NAS-Bench-201 (12-epoch table)");
    args.flag("--data", o.data, "directory of nas-bench-201_12epoch.csv")
        .flag("--seeds", o.seeds, "searches per strategy and dataset")
        .flag("--budget", o.budget, "evaluations per search")
        .flag("--population", o.population, "REA population")
        .flag("--sample", o.sample, "REA tournament sample size");
    args.parse(argc, argv);
    if (o.seeds < 1 || o.budget < 1) args.fail("seeds and budget must be at least 1");
    return o;
}

// Test accuracy of the best-by-validation architecture of one search.
template <class Strategy>
double replay(Strategy s, const at::nb201_table& table, const std::string& data) {
    at::search_driver(s).run(at::table_replay<at::nb201_table>(table, {data + "-val"}));
    const std::size_t best = static_cast<const at::strategy<space>&>(s).best(0);
    return s.history()[best].result.metrics.at(data + "-test");
}

}  // namespace

int main(int argc, char** argv) try {
    const options o = parse(argc, argv);
    const auto table = at::load_nb201_table(o.data + "/nas-bench-201_12epoch.csv");
    const std::vector<std::string> datasets{"cifar10", "cifar100", "imagenet"};
    std::printf("NAS-Bench-201 replay (12-epoch table): %zu seeds, %zu evaluations per search, REA P=%zu S=%zu\n",
                o.seeds, o.budget, o.population, o.sample);
    std::printf("selection on <dataset>-val, reported: <dataset>-test of the best-by-val architecture, mean ± std\n\n");
    std::printf("%-10s %-18s %-18s %s\n", "dataset", "REA", "random search", "table optimum (test)");

    at::progress bar(datasets.size() * o.seeds, {.style = at::progress_style::automatic, .stream = &std::cerr,
                                                 .line_interval = 10, .bar_width = 30, .label = "replays",
                                                 .clock = {}});
    std::size_t done = 0;
    for (const auto& data : datasets) {
        std::vector<double> rea, rs;
        for (std::size_t seed = 0; seed < o.seeds; ++seed) {
            rea.push_back(replay(at::regularized_evolution<space>(
                                     {.population = o.population, .sample = o.sample, .budget = o.budget},
                                     at::seed{seed}),
                                 table, data));
            rs.push_back(replay(at::random_search<space>({.budget = o.budget}, at::seed{seed}), table, data));
            bar.update(++done);
        }
        double optimum = 0;
        for (std::size_t r = 0; r < at::nb201_table::rows; ++r)
            optimum = std::max(optimum, table.value(at::nb201_table::genotype_of(r), data + "-test"));
        const auto a = examples::summarize(rea), b = examples::summarize(rs);
        std::printf("%-10s %6.2f ± %-9.2f %6.2f ± %-9.2f %.2f\n", data.c_str(), a.mean, a.std, b.mean, b.std, optimum);
        std::fflush(stdout);
    }
    bar.finish();
    return 0;
} catch (const std::exception& e) {
    std::cerr << "replay_nb201: " << e.what() << "\n";
    return 1;
}
