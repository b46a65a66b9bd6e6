// Replays NSGA-II and random search on NAS-Bench-Macro with two objectives (mean_acc maximised, flops
// minimised) and prints the hypervolume reached as a fraction of the true front's, mean ± std over seeds.
//
//   replay_nb_macro [--data DIR] [--seeds N] [--population P] [--offspring L] [--mutation K]
//                   [--crossover PC] [--out DIR]
//
// Protocol (the search issue's): reference point = (lowest mean_acc, highest flops) of the table; the
// true front and its hypervolume come from all 6,561 rows; a search's hypervolume is that of every
// architecture it evaluated; budgets 300 and 500 evaluations (repeats count), seeds 0..N-1 (50 by
// default). NSGA-II defaults here: population 20, offspring 20, crossover 0.9, one decision mutated.
// With --out, writes the Pareto front of seed 0's NSGA-II search at the largest budget as
// nb_macro_front.csv and nb_macro_front.svg (uniform networks marked as baselines). DIR defaults to
// ../shared/data.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "archetype/estimate/tabular.hpp"
#include "archetype/search/driver.hpp"
#include "archetype/search/nsga2.hpp"
#include "archetype/search/random_search.hpp"
#include "archetype/search/report.hpp"
#include "cli.hpp"

namespace at = archetype;
using space = at::nas_bench_macro;

namespace {

#ifdef ARCHETYPE_SHARED_DATA
constexpr const char* default_data = ARCHETYPE_SHARED_DATA;
#else
constexpr const char* default_data = "../shared/data";
#endif

struct options {
    std::string data = default_data;
    std::size_t seeds = 50, population = 20, offspring = 0, mutation = 1;
    double crossover = 0.9;
    std::string out;
};

options parse(int argc, char** argv) {
    options o;
    examples::cli args("replay_nb_macro", "replays NSGA-II and random search on NAS-Bench-Macro");
    args.flag("--data", o.data, "directory of nas-bench-macro_cifar10.json")
        .flag("--seeds", o.seeds, "searches per strategy")
        .flag("--population", o.population, "NSGA-II population")
        .flag("--offspring", o.offspring, "NSGA-II offspring per generation (0: the population size)")
        .flag("--mutation", o.mutation, "decisions mutated per child")
        .flag("--crossover", o.crossover, "crossover probability")
        .flag("--out", o.out, "also write seed 0's NSGA-II front (CSV, SVG) into this directory");
    args.parse(argc, argv);
    if (o.seeds < 1 || o.population < 2) args.fail("seeds must be at least 1 and population at least 2");
    return o;
}

const std::vector<at::direction> dirs{at::direction::maximize, at::direction::minimize};

template <class Strategy>
double hypervolume_of(const Strategy& s, const at::objective_vector& ref) {
    std::vector<at::objective_vector> points;
    for (const auto& h : s.history()) points.push_back(h.result.objectives);
    return at::hypervolume(points, ref, dirs);
}

}  // namespace

int main(int argc, char** argv) try {
    const options o = parse(argc, argv);
    const auto table = at::load_nb_macro_table(o.data + "/nas-bench-macro_cifar10.json");
    const at::table_replay<at::nb_macro_table> replay(table, {"mean_acc", "flops"});

    std::vector<at::objective_vector> all;
    at::objective_vector ref{HUGE_VAL, -HUGE_VAL};
    for (std::size_t r = 0; r < at::nb_macro_table::rows; ++r) {
        const auto g = at::nb_macro_table::genotype_of(r);
        all.push_back({table.value(g, "mean_acc"), table.value(g, "flops")});
        ref[0] = std::min(ref[0], all.back()[0]);
        ref[1] = std::max(ref[1], all.back()[1]);
    }
    const double true_hv = at::hypervolume(all, ref, dirs);
    std::printf("NAS-Bench-Macro replay: objectives mean_acc (max) and flops (min); reference point (%.2f, %.0f);\n"
                "true front: %zu architectures; %zu seeds; NSGA-II population %zu, offspring %zu, crossover %.2f, "
                "%zu decision(s) mutated\n\n",
                ref[0], ref[1], at::non_dominated(all, dirs).size(), o.seeds, o.population,
                o.offspring ? o.offspring : o.population, o.crossover, o.mutation);
    std::printf("%-8s %-22s %-22s\n", "budget", "NSGA-II HV / true HV", "random search");

    for (std::size_t budget : {300u, 500u}) {
        std::vector<double> nsga, rs;
        for (std::size_t seed = 0; seed < o.seeds; ++seed) {
            at::nsga2<space> n({.population = o.population, .offspring = o.offspring, .budget = budget,
                                .directions = dirs, .crossover_probability = o.crossover,
                                .mutation_decisions = o.mutation},
                               at::seed{seed});
            at::search_driver(n).run(replay);
            nsga.push_back(hypervolume_of(n, ref) / true_hv);
            at::random_search<space> r({.budget = budget, .directions = dirs}, at::seed{seed});
            at::search_driver(r).run(replay);
            rs.push_back(hypervolume_of(r, ref) / true_hv);
            if (seed == 0 && budget == 500 && !o.out.empty()) {
                at::pareto_report_options<space::genotype> report{
                    .objective_names = {"mean_acc", "flops"}, .x = 1, .y = 0, .x_scale = 1e-6, .y_scale = 1.0,
                    .plot = {.title = "NAS-Bench-Macro: NSGA-II, 500 evaluations, seed 0", .x_label = "MFLOPs",
                             .y_label = "CIFAR-10 accuracy, mean of 3 runs (%)", .width = 800, .height = 560},
                    .baselines = {}, .describe = [](const space::genotype& g) { return at::to_nbm_key(g); }};
                for (const char* key : {"00000000", "11111111", "22222222"}) {
                    const auto g = at::parse_nbm_key(key);
                    report.baselines.push_back({table.value(g, "flops") * 1e-6, table.value(g, "mean_acc"),
                                                std::string("uniform ") + key, false});
                }
                at::write_pareto_report(n, o.out + "/nb_macro_front.csv", o.out + "/nb_macro_front.svg", report);
            }
        }
        const auto a = examples::summarize(nsga), b = examples::summarize(rs);
        std::printf("%-8zu %6.2f%% ± %-12.2f %6.2f%% ± %-12.2f\n", budget, 100 * a.mean, 100 * a.std, 100 * b.mean,
                    100 * b.std);
        std::fflush(stdout);
    }
    if (!o.out.empty())
        std::printf("\nwrote %s/nb_macro_front.csv and %s/nb_macro_front.svg\n", o.out.c_str(), o.out.c_str());
    return 0;
} catch (const std::exception& e) {
    std::cerr << "replay_nb_macro: " << e.what() << "\n";
    return 1;
}
