// The main job: a neural architecture search on Fashion-MNIST, a final selection among the searched
// networks by successive halving on real trainings, and the winner compared on the test set with
// LeNet-5 and a hand-designed small CNN trained with the same recipe.
//
//   fashion_search [--minutes M] [--threads T] [--seed S] [--data DIR] [--out DIR] [--evaluations N]
//                  [--final-epochs E] [--objective macs|latency] [--max-mmacs X] [--max-latency-us U]
//                  [--population P] [--bands K] [--per-band N] [--candidate-range R] [--eta H]
//                  [--first-rung-epochs F] [--tie-margin M] [--proxy-train N] [--proxy-validation N] [--proxy-epochs E]
//                  [--search-share F] [--augment-shift S] [--augment-flip 0|1] [--augment-erase P]
//                  [--label-smoothing L]
//
// Space: archetype::fashion_mnist_space (space/fashion_mnist.hpp, 13,824 networks, 0.13–9.2 M MACs).
// Strategy: NSGA-II (population P, as many children per generation), objectives validation accuracy
// (max) and --objective (min): MACs, or latency = the host lookup table's sum over the layers a network
// runs (estimate/latency.hpp, batch 1, one thread; measured once and cached in DIR/latency_table.txt,
// so the search is deterministic once the table exists). Constraints MACs ≤ X million and, when given,
// table latency ≤ U µs: an infeasible candidate is not trained (its violation is its relative excess),
// so the time goes to networks that fit the budget. The initial population holds boundary seeds (the
// smallest network of each width and head, and networks spread below LeNet-5's 0.28 M MACs: 8 of the
// 20), so the front reaches the small networks that must beat LeNet-5 at no more MACs, and capacity
// seeds (per width and head, the network with the most parameters within the MAC budget: 6), so the
// largest networks, which NSGA-II and the proxy both pass over, are trained at least once; the rest
// are uniform samples. NSGA-II
// rather than regularized evolution because the result is a whole front: it shows the accuracy each
// MAC (or latency) budget buys.
// Estimation: each candidate is proxy-trained (2 epochs, cosine lr, on 6,000 training images) and
// scored on 3,000 other images held out of the TRAINING set; the test set is never used to select.
// Validation runs in batches of 64 (not 500), which made a candidate ~9x cheaper (the larger batch
// faulted in a workspace for the whole supernet each time). A cheaper proxy, --proxy-train 3000
// --proxy-validation 1500, halves the cost again and keeps the overall ranking (Spearman 0.90 on 12
// sampled networks; 1 epoch on 6,000: 0.72, on 3,000: 0.64), but it saturates near 83% where small
// flat-head networks already are, so its front stays below 0.5 M MACs: not the default.
// Budget: --minutes is the whole run. The search runs generation after generation while the next one
// (timed as long as the last) ends within --search-share of the time (default 30%: the search's front
// changes little after ~250 evaluations, while the trainings after it gain from every epoch; 20% beyond
// 15 minutes); the rest goes to the final selection and the reference trainings, planned
// for the largest number of final epochs E (at most 40) whose cost fits (examples/fashion_halving.hpp's
// cost model, from each network's timed epoch; the last rung's E is planned again once its networks are
// known, since the first plan assumed the dearest ones). The numbers are written to DIR/plan.json;
// --evaluations and --final-epochs fix them (a fixed --evaluations and seed give the same search
// whatever the machine's speed or thread count).
// Final selection: the 2-epoch proxy ranks by early learning, which favours small networks, while a
// long training favours capacity (benchmarks/RESULTS.md: networks of ~4 M MACs that the proxy places
// below 1 M MAC ones score 93.0–93.2% after 30 epochs against 91.9–92.4%). So the candidates are the
// proxy's most accurate network in each of K MAC bands (log-spaced from 1/R of the largest evaluated
// network's MACs up to it; R = 8) and, with N = 2, also the band's network with the most parameters
// among its more accurate half by the proxy (at equal MACs, dense convolutions: more parameters, slower
// start, better end); K = 3, and N = 1 up to 15 minutes, 2 beyond. Successive halving
// (search/successive_halving.hpp, eta H: 3 up to 15 minutes, 6 beyond) trains them from scratch with the
// recipe for …, E/H², E/H, E epochs, but at least F (default 6: the measured crossover of small and
// large networks) and keeps the best 1/H by accuracy on the held-out validation images; the last rung is
// the full training, and the winner the best of it. Beyond 15 minutes that is 6 candidates, 6 epochs,
// then the best one for E: a 4 M MAC network takes ~30 s per epoch on one of the two cores, and the
// ~30 epochs it needs for its best leave no time for a middle rung. There, scores within --tie-margin
// of the rung's best count as equal (default: the standard error of the difference of two scores on
// the validation images, 0.77 points for 3,000), and the most parameters go on: at 6–7 epochs the
// leaders are often closer than that, and the larger networks gain most from 40 augmented epochs
// (benchmarks/RESULTS.md). References, trained E
// epochs with the same recipe beside the last rung (one network per thread): the most accurate
// evaluated network within LeNet-5's MACs, the hand CNN and LeNet-5. All trainings use the training
// images minus the validation images.
// Recipe (proxy and full training alike): SGD, Nesterov momentum 0.9, lr 0.05, weight decay 5e-4,
// batch 64, cosine schedule over the epochs, inputs in [0, 1]. Every training after the search is
// augmented beyond 15 minutes (--augment-shift 2 --augment-flip 1 --augment-erase 0.5: random shifts
// of up to 2 pixels with zeros shifted in, random mirroring, and in half the images one zeroed
// rectangle), not up to 15 minutes (benchmarks/RESULTS.md): at 40 epochs shifts and mirroring kept
// networks from overfitting (99% train accuracy without) and added 0.1–1.5 points, except to the
// smallest networks, which they cost 1.2; with erasing too a 30-minute run's winner (5 M MACs) reached
// 93.43% (92.74% without, another winner), while the 2 M MAC hand CNN lost 0.7 (91% train accuracy
// at the end: erasing suits the larger networks). --label-smoothing L trains on targets
// (1 − L)·onehot + L/10. The 2-epoch proxies never augment (they rank, not converge).
// Resume: the search is checkpointed after every evaluation (DIR/search.ckpt, log DIR/search.jsonl)
// and every finished training of the final selection (its score) and of the references is kept
// (DIR/final/); rerunning with the same flags continues where a killed run stopped and reuses them.
// Outputs in DIR: pareto.csv and pareto.svg (accuracy vs the chosen objective, baselines marked),
// best.json (the winner of the final selection), best_net.hpp (its generated header with trained
// weights), report.md (the selection's rung scores; the winner and the references with MACs, measured
// batch-1 latency, test accuracy).
// g++ 12 at -O3 reports a false -Wmaybe-uninitialized inside std::variant moves of io/json.hpp values
// (driver.hpp's log lines); off for GCC only in this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "archetype/blocks/classic_nets.hpp"
#include "archetype/estimate/latency.hpp"
#include "archetype/estimate/proxy_training.hpp"
#include "archetype/io/genotype_json.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/search/driver.hpp"
#include "archetype/search/nsga2.hpp"
#include "archetype/search/report.hpp"
#include "archetype/space/codegen.hpp"
#include "archetype/space/fashion_mnist.hpp"
#include "cli.hpp"
#include "fashion_halving.hpp"
#include "fashion_report.hpp"
#include "fashion_search_support.hpp"

namespace at = archetype;
namespace fs = std::filesystem;
using space = at::fashion_mnist_space;
using genotype = space::genotype;
using finalist = fashion::finalist<genotype>;

using lenet_space = at::search_space<at::shape{1, 28, 28}, at::lenet5>;  // no decisions: one network
constexpr std::size_t lenet_macs = at::network<at::shape{1, 28, 28}, at::lenet5>::total_cost.macs;
static_assert(lenet_macs == 281'640);

// The hand-designed CNN is a member of the space: conv16, pool, conv32, pool, conv64, flatten, dense.
const char* const hand_cnn_text = "width=w16,down1=pool,s1b1=skip,s1b2=skip,down2=pool,s2b1=skip,s2b2=skip,head=flat";

namespace {

using clock_type = std::chrono::steady_clock;
const clock_type::time_point program_start = clock_type::now();
double elapsed() { return std::chrono::duration<double>(clock_type::now() - program_start).count(); }

struct options {
    double minutes = 14.0;
    std::size_t threads = 2;
    std::uint64_t seed = 1;
    std::string data = at::default_fashion_mnist_dir().string();
    std::string out = "runs/fashion";
    std::size_t evaluations = 0;  // 0: from the time budget
    int final_epochs = 0;         // 0: from the time budget
    double search_share = 0.0;    // 0: 0.3 up to 15 minutes, 0.2 beyond
    std::string objective = "macs";
    double max_mmacs = 5.0, max_latency_us = 0.0;
    std::size_t population = 20;
    std::size_t bands = 3, per_band = 0;  // per_band 0: 1 up to 15 minutes, 2 beyond
    double candidate_range = 8.0, eta = 0.0;  // eta 0: 3 up to 15 minutes, 6 beyond
    double tie_margin = -1.0;                  // points; -1: 0 up to 15 minutes, beyond one standard error
    int first_rung_epochs = 6;
    std::size_t proxy_train = 6000, proxy_validation = 3000;
    int proxy_epochs = 2;
    // full training only; -1: none up to 15 minutes, beyond shift 2, flip 1, erase 0.5
    int augment_shift = -1, augment_flip = -1;
    double augment_erase = -1.0, label_smoothing = 0.0;
    bool latency() const { return objective == "latency"; }
};

options parse(int argc, char** argv) {
    options o;
    examples::cli args("fashion_search", "neural architecture search on Fashion-MNIST");
    args.flag("--minutes", o.minutes, "whole run, search and final training")
        .flag("--threads", o.threads, "networks trained at once, one per thread")
        .flag("--seed", o.seed, "seed of the split, the search and every training")
        .flag("--data", o.data, "Fashion-MNIST IDX files ($ARCHETYPE_FASHION_MNIST_DIR or "
                                "/usr/share/datasets/fashion-mnist, package dataset-fashion-mnist)")
        .flag("--out", o.out, "run directory: checkpoint, log, reports; rerun to resume")
        .flag("--evaluations", o.evaluations, "search budget in evaluations (0: generations while they fit --search-share of --minutes)")
        .flag("--search-share", o.search_share, "share of --minutes for the search (0: 0.3 up to 15 minutes, 0.2 beyond)")
        .flag("--final-epochs", o.final_epochs, "epochs of the full trainings (0: what fits the rest of --minutes)")
        .flag("--objective", o.objective, "second objective, minimised: macs, or latency (host lookup table, µs at batch 1)")
        .flag("--max-mmacs", o.max_mmacs, "MAC budget of a candidate, in millions")
        .flag("--max-latency-us", o.max_latency_us, "latency budget of a candidate, lookup-table µs at batch 1 (0: none)")
        .flag("--population", o.population, "NSGA-II population and children per generation")
        .flag("--bands", o.bands, "MAC bands that offer candidates to the final selection")
        .flag("--per-band", o.per_band, "candidates per band: the proxy's favourite, then the most parameters among the band's better half (0: 1 up to 15 minutes, 2 beyond)")
        .flag("--candidate-range", o.candidate_range, "the MAC bands span the largest evaluated network's MACs down to 1/R of them")
        .flag("--eta", o.eta, "successive halving: the best 1/eta of a rung go on (0: 3 up to 15 minutes, 6 beyond)")
        .flag("--first-rung-epochs", o.first_rung_epochs, "successive halving: no rung shorter than this (but the last)")
        .flag("--tie-margin", o.tie_margin, "successive halving: candidates within this many points of a rung's best go on by most parameters (-1: 0 up to 15 minutes, beyond the standard error of a difference of two validation scores)")
        .flag("--proxy-train", o.proxy_train, "training images of a candidate's proxy training")
        .flag("--proxy-validation", o.proxy_validation, "images held out of the training set to score candidates")
        .flag("--proxy-epochs", o.proxy_epochs, "epochs of a candidate's proxy training")
        .flag("--augment-shift", o.augment_shift, "full training: random shifts of up to N pixels (0: none; -1: 0 up to 15 minutes, 2 beyond)")
        .flag("--augment-flip", o.augment_flip, "full training: random left-right mirroring (1) or none (0) (-1: 0 up to 15 minutes, 1 beyond)")
        .flag("--augment-erase", o.augment_erase, "full training: probability of random erasing, a zeroed rectangle of 2-40% of the image (0: none; -1: 0 up to 15 minutes, 0.5 beyond)")
        .flag("--label-smoothing", o.label_smoothing, "full training: label smoothing (targets (1 - e)*onehot + e/10; 0: none)");
    args.parse(argc, argv);
    auto need = [&](bool ok, const std::string& why) {
        if (!ok) args.fail(why);
    };
    need(o.minutes >= 0.5, "--minutes must be at least 0.5");
    need(o.threads >= 1, "--threads must be at least 1");
    need(!o.out.empty(), "--out needs a directory name");
    if (o.search_share == 0.0) o.search_share = o.minutes <= 15.0 ? 0.3 : 0.2;
    need(o.search_share >= 0.05 && o.search_share <= 0.8, "--search-share must be a fraction of --minutes from 0.05 to 0.8");
    need(o.final_epochs >= 0, "--final-epochs must be at least 1 (or 0: from the time budget)");
    need(o.objective == "macs" || o.objective == "latency", "--objective is macs or latency, not '" + o.objective + "'");
    need(o.max_mmacs >= 0.2, "--max-mmacs must be at least 0.2 (the smallest network has 0.13 M MACs)");
    need(o.max_latency_us >= 0, "--max-latency-us must be >= 0 (0: no latency budget)");
    need(o.population >= 4, "--population must be at least 4");
    if (o.eta == 0.0) o.eta = o.minutes <= 15.0 ? 3.0 : 6.0;
    if (o.per_band == 0) o.per_band = o.minutes <= 15.0 ? 1 : 2;
    need(o.first_rung_epochs >= 1, "--first-rung-epochs must be at least 1");
    need(o.candidate_range >= 1, "--candidate-range must be at least 1 (1: only networks as large as the largest)");
    need(o.bands >= 1, "--bands must be at least 1");
    need(o.eta >= 1.5 && o.eta <= 10, "--eta must be between 1.5 and 10 (3 is usual)");
    need(o.proxy_train >= 100 && o.proxy_validation >= 100, "--proxy-train and --proxy-validation must be at least 100");
    need(o.proxy_epochs >= 1, "--proxy-epochs must be at least 1");
    // Long trainings (beyond 15 minutes: 25–40 epochs) gain from augmentation and capacity, short ones lose
    const bool long_run = o.minutes > 15.0;
    if (o.augment_shift == -1) o.augment_shift = long_run ? 2 : 0;
    if (o.augment_flip == -1) o.augment_flip = long_run ? 1 : 0;
    if (o.augment_erase == -1.0) o.augment_erase = long_run ? 0.5 : 0.0;
    // the standard error of the difference of two accuracies near 90% on the validation images
    if (o.tie_margin == -1.0)
        o.tie_margin = long_run ? 100.0 * std::sqrt(2.0 * 0.9 * 0.1 / double(o.proxy_validation)) : 0.0;
    need(o.tie_margin >= 0 && o.tie_margin < 100, "--tie-margin is in points of accuracy, 0 (rank by score) to below 100");
    need(o.augment_shift >= 0 && o.augment_shift <= 8, "--augment-shift must be 0 (none) to 8 pixels");
    need(o.augment_flip == 0 || o.augment_flip == 1, "--augment-flip is 1 (mirror at random) or 0 (never)");
    need(o.augment_erase >= 0 && o.augment_erase <= 1, "--augment-erase is a probability from 0 (never) to 1");
    need(o.label_smoothing >= 0 && o.label_smoothing < 1, "--label-smoothing is from 0 (none) to below 1, e.g. 0.1");
    return o;
}

// Validation in batches of the training batch: a larger batch would allocate (and fault in) a larger
// workspace of the whole supernet once per candidate, which cost about half of a small candidate's time.
template <class Space>
at::proxy_training<Space> make_proxy(const at::proxy_split& split, const options& o) {
    return {.train = &split.train, .validation = &split.validation, .epochs = o.proxy_epochs, .batch_size = 64,
            .optimizer = fashion::recipe_optimizer(), .seed = at::seed{o.seed},
            .lr_schedule = at::schedule::cosine(o.proxy_epochs), .test = nullptr, .eval_batch_size = 64,
            .pool = nullptr};
}

struct search_deadline : std::exception {
    const char* what() const noexcept override { return "fashion_search: the search's share of --minutes is used"; }
};

}  // namespace

int main(int argc, char** argv) try {
    const options o = parse(argc, argv);
    const fs::path out = o.out;
    fs::create_directories(out / "final");
    const double budget_s = o.minutes * 60.0;
    const auto max_macs = std::size_t(o.max_mmacs * 1e6);

    const at::dataset train = at::load_fashion_mnist(at::fashion_mnist_part::train, o.data);
    const at::dataset test = at::load_fashion_mnist(at::fashion_mnist_part::test, o.data);
    const at::proxy_split split = at::split_training_set(train, o.proxy_train, o.proxy_validation, at::seed{o.seed});
    const auto proxy = make_proxy<space>(split, o);
    std::printf("fashion_search: %s networks, up to %.1f M MACs; objectives validation accuracy and %s; proxy: %zu "
                "training / %zu validation images (held out of the training set), %d epoch(s); %zu threads; budget "
                "%.1f min; run directory %s\n",
                space::cardinality.str().c_str(), o.max_mmacs, o.latency() ? "latency" : "MACs", o.proxy_train,
                o.proxy_validation, o.proxy_epochs, o.threads, o.minutes, out.string().c_str());

    // ---- latency lookup tables (batch 1, one thread), measured once per host and build --------------
    const at::latency_options lat{.batch = 1, .threads = 1};
    std::optional<at::latency_table<space>> table;
    std::optional<at::latency_table<lenet_space>> lenet_table;
    if (o.latency() || o.max_latency_us > 0) {
        table = at::latency_table<space>::load_or_build(out / "latency_table.txt", lat);
        lenet_table = at::latency_table<lenet_space>::load_or_build(out / "latency_table_lenet.txt", lat);
        if (!table->rebuilt_because().empty())
            std::printf("latency table: %zu layers measured (%s)\n", table->size(), table->rebuilt_because().c_str());
    }

    // ---- search: generations while they fit -----------------------------------------------------------
    const fs::path plan_path = out / "plan.json";
    fashion::plan pl = fashion::read_plan(plan_path);
    if (o.evaluations) pl.evaluations = o.evaluations, pl.search_final = true;
    std::size_t budget = pl.evaluations ? pl.evaluations : o.population;
    std::vector<genotype> seeds = fashion::boundary_seeds<space>(std::min<std::size_t>(8, o.population / 2), lenet_macs);
    for (const genotype& g : fashion::capacity_seeds<space>(max_macs))
        if (seeds.size() < o.population * 4 / 5 && std::find(seeds.begin(), seeds.end(), g) == seeds.end()) seeds.push_back(g);
    at::nsga2<space> strategy({.population = o.population, .offspring = o.population, .budget = budget,
                               .directions = {at::direction::maximize, at::direction::minimize},
                               .crossover_probability = 0.9, .mutation_decisions = 1},
                              at::seed{o.seed}, seeds);
    const double share = o.search_share;
    const double search_end = share * budget_s, search_deadline_s = (share + 0.1) * budget_s;
    auto evaluate = [&](const genotype& g) -> at::evaluation {
        const at::cost c = space::cost_of(g);
        std::map<std::string, double> m{{"params", double(c.params)}, {"macs", double(c.macs)}};
        const double lut = table ? table->lut(g) : 0.0;
        if (table) m["latency_us"] = lut;
        const double second = o.latency() ? lut : double(c.macs);
        double violation = c.macs > max_macs ? double(c.macs - max_macs) / double(max_macs) : 0.0;
        if (o.max_latency_us > 0 && lut > o.max_latency_us) violation += (lut - o.max_latency_us) / o.max_latency_us;
        if (violation > 0) {  // not trained: infeasible by its relative excess
            m["untrained"] = 1;
            return {{0.0, second}, violation, m};
        }
        if (!o.evaluations && elapsed() > search_deadline_s) throw search_deadline{};
        const at::proxy_result r = proxy(g);
        for (const auto& [k, v] : r.metrics()) m[k] = v;
        return {{r.validation_accuracy, second}, r.diverged ? 1.0 : 0.0, m};
    };
    const std::string proxy_settings = "seed=" + std::to_string(o.seed) + ",proxy=" + std::to_string(o.proxy_train) +
                                       "/" + std::to_string(o.proxy_validation) + "x" + std::to_string(o.proxy_epochs);
    const std::string tag = "fashion_search:" + proxy_settings + ",population=" + std::to_string(o.population) +
                            ",objective=" + o.objective + ",max_mmacs=" + at::format_number(o.max_mmacs) +
                            ",max_latency_us=" + at::format_number(o.max_latency_us) + ",seeds=boundary8+capacity";
    const at::driver_options driver_options{
        .threads = o.threads, .checkpoint = out / "search.ckpt", .log = out / "search.jsonl", .resume = true,
        .durable_log = false, .tag = tag,
        .progress = {.style = at::progress_style::automatic, .stream = &std::cout, .line_interval = 10.0,
                     .bar_width = 30, .label = "search", .clock = {}}};
    std::optional<at::search_driver<at::nsga2<space>>> driver;
    at::evaluation_cache<genotype> cache;  // every computed evaluation, with its wall time
    bool stopped_early = false;
    try {
        double generation_seconds = 0.0;  // wall time of the last generation computed here
        for (std::size_t generation = 1;; ++generation) {
            strategy.set_budget(budget);
            const double t0 = elapsed();
            driver.emplace(strategy, driver_options);  // a new driver resumes from the checkpoint
            driver->run(evaluate);
            cache = driver->cache();
            if (driver->computed() * 2 >= o.population) generation_seconds = elapsed() - t0;
            if (pl.search_final) break;
            std::printf("search: %zu evaluations, front %zu, %.0f s elapsed (last generation %.0f s)\n",
                        strategy.history().size(), strategy.pareto_front().size(), elapsed(), generation_seconds);
            pl.search_final = elapsed() + generation_seconds > search_end || generation >= 500;
            if (!pl.search_final) budget += o.population;
            pl.evaluations = budget;
            fashion::write_plan(plan_path, pl);
            if (pl.search_final) break;
        }
    } catch (const search_deadline& e) {
        stopped_early = true;
        cache = driver->cache();
        std::printf("\n%s: stopping the search after %zu evaluations; rerun with the same flags to finish it\n",
                    e.what(), strategy.history().size());
    }
    const double search_seconds = elapsed();
    const auto& history = strategy.history();
    const std::vector<std::size_t> front = strategy.pareto_front();
    std::printf("search: %zu evaluations, %zu on the front, %.0f s\n", history.size(), front.size(), search_seconds);

    // ---- candidates of the final selection ---------------------------------------------------------
    // Short proxies under-rate large networks that train slowly at first (benchmarks/RESULTS.md: a 4.7 M
    // MAC network ranked last by every proxy of 2–4 epochs scores best after 40), so the front alone
    // would not offer them: the candidates come from --bands MAC bands up to the budget (band_candidates:
    // the proxy's favourite and, with --per-band 2, the most parameters among the band's better half),
    // and successive halving on real trainings picks among them.
    std::vector<std::size_t> unique;  // first evaluation of each distinct feasible genotype
    for (std::size_t i = 0; i < history.size(); ++i) {
        bool seen = false;
        for (std::size_t j : unique) seen = seen || history[j].genotype == history[i].genotype;
        if (!seen && history[i].result.feasible() && !history[i].result.metrics.count("untrained")) unique.push_back(i);
    }
    if (unique.empty())
        throw at::error("fashion_search: the search found no feasible network; raise --max-mmacs or --max-latency-us");
    std::vector<std::size_t> macs_of, params_of, chosen;
    std::vector<double> accuracy_of;
    for (std::size_t i : unique) {
        macs_of.push_back(space::cost_of(history[i].genotype).macs);
        params_of.push_back(space::cost_of(history[i].genotype).params);
        accuracy_of.push_back(history[i].result.objectives[0]);
    }
    for (std::size_t k : fashion::band_candidates(macs_of, accuracy_of, params_of, o.bands, o.per_band, o.candidate_range))
        chosen.push_back(unique[k]);
    std::vector<finalist> candidates;
    for (std::size_t i : chosen) {
        finalist f{.name = "", .g = history[i].genotype, .validation_accuracy = history[i].result.objectives[0]};
        const auto c = cache.find(history[i].genotype);
        f.proxy_seconds = c == cache.end() ? 0.0 : c->second.seconds;
        candidates.push_back(f);
    }
    std::stable_sort(candidates.begin(), candidates.end(), [](const finalist& a, const finalist& b) {
        return a.validation_accuracy > b.validation_accuracy;
    });
    for (std::size_t k = 0; k < candidates.size(); ++k) candidates[k].name = "candidate " + std::to_string(k + 1);

    // References, trained fully with the same recipe: the most accurate evaluated network within
    // LeNet-5's MACs (does the front beat LeNet-5 on the test set too?), the hand CNN and LeNet-5.
    std::vector<finalist> refs;
    std::optional<std::size_t> small;
    for (std::size_t k = 0; k < unique.size(); ++k)
        if (macs_of[k] <= lenet_macs && (!small || accuracy_of[k] > accuracy_of[*small])) small = k;
    if (small) {
        const std::size_t i = unique[*small];
        refs.push_back({.name = "search small", .g = history[i].genotype,
                        .validation_accuracy = history[i].result.objectives[0]});
    }
    const genotype hand_g = at::parse_text<space>(hand_cnn_text);
    refs.push_back(fashion::proxy_baseline<space, genotype>("hand CNN", proxy, hand_g, proxy_settings,
                                                            out / "final" / "hand_cnn.proxy.json"));
    refs.back().g = hand_g;
    refs.push_back(fashion::proxy_baseline<lenet_space, genotype>(
        "LeNet-5", make_proxy<lenet_space>(split, o), {}, proxy_settings, out / "final" / "lenet5.proxy.json"));
    for (auto* list : {&candidates, &refs})
        for (auto& f : *list) {
            const at::cost c = f.g ? space::cost_of(*f.g) : lenet_space::cost_of({});
            f.macs = c.macs;
            f.params = c.params;
            if (table) f.lut_us = f.g ? table->lut(*f.g) : lenet_table->lut({});
        }

    // ---- plan: the final epochs E that fit the time left --------------------------------------------
    // Every network trains on the training images minus the validation images, so that the selection
    // scores on images no training saw; the test set only reports.
    const at::proxy_split full = at::split_training_set(train, train.size() - o.proxy_validation, o.proxy_validation,
                                                        at::seed{o.seed});  // the proxy's validation images again
    const std::size_t rungs = fashion::halving_rungs(candidates.size(), o.eta);
    if (o.final_epochs) pl.final_epochs = pl.last_epochs = o.final_epochs;
    auto timed = [&](const finalist& f) {
        return f.g ? fashion::seconds_per_epoch<space>(*f.g, full.train, full.validation)
                   : fashion::seconds_per_epoch<lenet_space>({}, full.train, full.validation);
    };
    std::vector<double> ref_epoch;  // the references' seconds per epoch, timed when first needed
    auto reference_epochs = [&]() -> std::vector<double>& {
        if (ref_epoch.empty())
            for (const auto& f : refs) ref_epoch.push_back(timed(f));
        return ref_epoch;
    };
    // The largest E (at most 40) whose trainings fit the time left, by finals_seconds's cost model. 5%
    // margin: each epoch is timed alone, but the trainings share the cores (and caches); a 30-minute
    // run planned without a margin overran by 3 minutes on shared cores.
    auto fitting_epochs = [&](const std::vector<double>& cand_epoch, std::size_t rung_count) {
        const std::vector<double>& ref = reference_epochs();  // timed before the clock is read
        const double left = 0.95 * (budget_s - elapsed()) - 20.0;
        for (int e = 40; e > 1; --e)
            if (fashion::finals_seconds(cand_epoch, ref,
                                        fashion::halving_epochs(e, rung_count, o.eta, o.first_rung_epochs), o.eta,
                                        o.threads) <= left)
                return e;
        return 1;
    };
    if (!pl.final_epochs) {  // as if the dearest candidates went on: an upper bound
        std::vector<double> cand_epoch;
        for (const auto& f : candidates) cand_epoch.push_back(timed(f));
        pl.final_epochs = fitting_epochs(cand_epoch, rungs);
        fashion::write_plan(plan_path, pl);
    }
    const fashion::regularization reg{
        .augment = {.shift = o.augment_shift, .hflip = o.augment_flip == 1, .erase = float(o.augment_erase)},
        .label_smoothing = float(o.label_smoothing)};
    std::vector<double> budgets = fashion::halving_epochs(pl.final_epochs, rungs, o.eta, o.first_rung_epochs);
    std::printf("final selection: successive halving of %zu candidates (eta %g) over rungs of", candidates.size(), o.eta);
    for (double b : budgets) std::printf(" %g", b);
    std::printf(" epochs (the last planned again when its networks are known, and trained beside %zu reference "
                "networks trained as long); %zu threads\n", refs.size(), o.threads);
    std::fflush(stdout);
    std::mutex print;
    fashion::halving_trainer<space> halving({.train = &full.train, .validation = &full.validation, .test = &test,
                                             .epochs = pl.final_epochs, .reg = reg, .seed = o.seed,
                                             .dir = out / "final", .print = &print},
                                            candidates);
    // The selection's rungs but the last; the last (the full trainings of its candidates) runs beside the
    // references, one network per thread, so no core waits for a lone training. The early rungs' epochs
    // come from the plan's E; the last rung's and the references' epochs are planned again once the
    // survivors are known (the plan assumed the dearest candidates went on): a cheaper survivor
    // trains longer, up to 40 epochs.
    std::vector<std::vector<double>> scores(candidates.size());  // per candidate, one per rung reached
    const std::vector<std::size_t> sizes = at::halving_rung_sizes(candidates.size(), budgets.size(), o.eta);
    std::vector<std::size_t> last_rung(candidates.size());
    for (std::size_t c = 0; c < last_rung.size(); ++c) last_rung[c] = c;
    if (budgets.size() > 1) {
        std::vector<double> cost, params;  // MACs start the dearest first; parameters break near-ties
        for (const auto& f : candidates) cost.push_back(double(f.macs)), params.push_back(double(f.params));
        const at::halving_result early = at::successive_halving(
            candidates.size(),
            {.budgets = {budgets.begin(), budgets.end() - 1},
             .eta = o.eta,
             .threads = o.threads,
             .cost = cost,
             .tie_margin = o.tie_margin / 100.0,
             .preference = params},
            std::ref(halving));
        scores = early.scores;
        last_rung.assign(early.rungs.back().begin(), early.rungs.back().begin() + std::ptrdiff_t(sizes.back()));
    }
    if (!pl.last_epochs) {
        // An epoch timed alone runs ~25% faster than beside another training (measured: 17 against
        // 21 s): where the early rung measured a survivor on shared cores, that time counts, and the
        // references' epochs are scaled by the same factor.
        std::vector<double> survivor_epoch;
        double shared = 1.0;
        for (std::size_t c : last_rung) {
            const double alone = timed(candidates[c]), measured = halving.measured_epoch_seconds(c);
            survivor_epoch.push_back(measured > 0 ? measured : alone);
            if (measured > 0) shared = std::max(shared, measured / alone);
        }
        for (double& e : reference_epochs()) e *= shared;
        pl.last_epochs = std::max(pl.final_epochs, fitting_epochs(survivor_epoch, 1));
        fashion::write_plan(plan_path, pl);
    }
    budgets.back() = pl.last_epochs;
    halving.set_final_epochs(pl.last_epochs);
    std::printf("final selection: the last rung and the references train %d epochs\n", pl.last_epochs);
    std::vector<finalist*> jobs;  // dearest first: the candidates, then the references by MACs
    for (std::size_t c : last_rung) jobs.push_back(&candidates[c]);
    std::vector<finalist*> by_macs;
    for (auto& f : refs) by_macs.push_back(&f);
    std::stable_sort(by_macs.begin(), by_macs.end(), [](auto* x, auto* y) { return x->macs > y->macs; });
    jobs.insert(jobs.end(), by_macs.begin(), by_macs.end());
    std::vector<double> final_score(candidates.size(), 0.0);
    {
        at::thread_pool pool(o.threads);
        std::atomic<std::size_t> next{0};
        pool.parallel_for(std::min(o.threads, jobs.size()), [&](std::size_t) {
            for (std::size_t k; (k = next.fetch_add(1)) < jobs.size();) {
                finalist& f = *jobs[k];
                if (k < last_rung.size()) {
                    const std::size_t c = last_rung[k];
                    final_score[c] = halving(at::halving_step{
                        .candidate = c, .rung = budgets.size() - 1, .budget = budgets.back(),
                        .previous_budget = budgets.size() > 1 ? budgets[budgets.size() - 2] : 0.0, .threads = 1});
                } else if (f.g) {
                    fashion::train_fully<space>(f, *f.g, full.train, test, pl.last_epochs, reg, o.seed,
                                                out / "final", print);
                } else {
                    fashion::train_fully<lenet_space>(f, {}, full.train, test, pl.last_epochs, reg, o.seed,
                                                      out / "final", print);
                }
            }
        });
    }
    std::size_t winner = last_rung.front();  // the best validation accuracy of the last rung (ties: rank order)
    for (std::size_t c : last_rung) {
        scores[c].push_back(final_score[c]);
        if (final_score[c] > final_score[winner]) winner = c;
    }
    std::vector<finalist> finals{candidates[winner]};
    finals.front().name = "search winner";
    for (const auto& f : refs) finals.push_back(f);
    for (auto& f : finals)  // batch-1 forward latency, one thread, timed now that no training runs
        f.measured_us = f.g ? at::measure_latency<space>(*f.g, lat) : at::measure_latency<lenet_space>({}, lat);

    // ---- reports ------------------------------------------------------------------------------------
    const finalist& best = finals.front();  // the winner of the final selection
    const finalist& lenet = finals.back();
    at::pareto_report_options<genotype> ro{
        .objective_names = {"validation_accuracy", o.latency() ? "latency_us" : "macs"}, .x = 1, .y = 0,
        .x_scale = o.latency() ? 1.0 : 1e-6, .y_scale = 100.0,
        .plot = {.title = "Fashion-MNIST NSGA-II search (" + std::to_string(history.size()) + " evaluations, seed " +
                          std::to_string(o.seed) + ")",
                 .x_label = o.latency() ? "latency per image at batch 1, host lookup table (µs)"
                                        : "MACs per image (millions)",
                 .y_label = "validation accuracy after proxy training (%)", .width = 800, .height = 560},
        .baselines = {}, .describe = {}};
    for (const auto& f : finals)
        if (f.name == "hand CNN" || f.name == "LeNet-5")
            ro.baselines.push_back(
                {o.latency() ? f.lut_us : double(f.macs) * 1e-6, 100 * f.validation_accuracy, f.name, false});
    at::write_pareto_report(strategy, out / "pareto.csv", out / "pareto.svg", ro);

    at::json best_json = at::json::object();
    best_json.set("genotype", at::to_json<space>(*best.g)).set("text", at::to_text<space>(*best.g));
    best_json.set("macs", best.macs).set("params", best.params).set("measured_latency_us", best.measured_us);
    if (table) best_json.set("table_latency_us", best.lut_us);
    best_json.set("validation_accuracy", best.validation_accuracy).set("test_accuracy", best.test_accuracy);
    best_json.set("selection_validation_accuracy", scores[winner].back());
    best_json.set("full_training_epochs", best.epochs);
    at::write_file_atomically(out / "best.json", best_json.dump(2) + "\n");
    {
        auto net = std::make_unique<space::network_type>(at::seed{o.seed});
        at::load_weights(*net, halving.weights_path(best));
        at::write_header<space>(*net, *best.g, out / "best_net.hpp", {.name = "best_net"});
    }

    // An evaluated network with no more MACs (table latency) than LeNet-5 and a better validation accuracy:
    // then the accuracy-MACs (accuracy-latency) front dominates LeNet-5.
    bool dominates_macs = false, dominates_latency = false;
    for (const auto& h : history) {
        if (!h.result.feasible() || !(h.result.objectives[0] > lenet.validation_accuracy)) continue;
        dominates_macs = dominates_macs || space::cost_of(h.genotype).macs <= lenet_macs;
        dominates_latency = dominates_latency || (table && table->lut(h.genotype) <= lenet.lut_us);
    }
    const fashion::run_facts facts{
        .space_size = space::cardinality.str(), .evaluations = history.size(), .population = o.population,
        .threads = o.threads, .front_size = front.size(), .stopped_early = stopped_early,
        .latency_objective = o.latency(), .has_table = table.has_value(), .max_mmacs = o.max_mmacs,
        .max_latency_us = o.max_latency_us, .seed = o.seed, .proxy_epochs = o.proxy_epochs,
        .proxy_train = o.proxy_train, .proxy_validation = o.proxy_validation, .train_images = full.train.size(),
        .epochs = pl.last_epochs, .reg = reg, .eta = o.eta, .tie_margin = o.tie_margin, .bands = o.bands,
        .per_band = o.per_band, .search_seconds = search_seconds, .run_seconds = elapsed(),
        .dominates_macs = dominates_macs, .dominates_latency = dominates_latency};
    const std::string md = fashion::report_markdown<space>(facts, candidates, scores, budgets, winner, finals);
    at::write_file_atomically(out / "report.md", md);
    std::cout << "\n" << md;
    return 0;
} catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
}
