// The main job: a neural architecture search on Fashion-MNIST, then the winners trained fully and
// compared on the test set with LeNet-5 and a hand-designed small CNN trained with the same recipe.
//
//   fashion_search [--minutes M] [--threads T] [--seed S] [--data DIR] [--out DIR] [--evaluations N]
//                  [--final-epochs E] [--max-mmacs X] [--population P] [--top K] [--proxy-train N]
//                  [--proxy-validation N]
//
// Space: archetype::fashion_mnist_space (space/fashion_mnist.hpp, 13,824 networks, 0.13–9.2 M MACs).
// Strategy: NSGA-II (population P, as many children per generation), objectives validation accuracy
// (max) and MACs (min), constraint MACs ≤ X million: an infeasible candidate is not trained (its
// violation is its relative excess), so the time goes to networks that fit the budget. NSGA-II rather
// than regularized evolution because the result is a whole front: it shows the accuracy each MAC
// budget buys and holds the small networks that must beat LeNet-5 at no more MACs.
// Estimation: each candidate is proxy-trained (2 epochs, cosine lr, on 6,000 training images) and
// scored on 3,000 other images held out of the TRAINING set; the test set is never used to select.
// Budget: --minutes is the whole run. The first generation measures the speed; the number of
// evaluations is then fixed so that the search takes about 40% of the time, and the rest trains the
// finalists fully (the best --top of the front by validation accuracy, the best front member with
// no more MACs than LeNet-5, the hand CNN and LeNet-5; one network per thread) for as many epochs
// as fit. Both numbers are written to DIR/plan.json; --evaluations and --final-epochs fix them.
// Recipe (proxy and full training alike): SGD, Nesterov momentum 0.9, lr 0.05, weight decay 5e-4,
// batch 64, cosine schedule over the epochs, inputs in [0, 1], no augmentation.
// Resume: the search is checkpointed after every evaluation (DIR/search.ckpt, log DIR/search.jsonl)
// and every finished full training is kept (DIR/final/); rerunning with the same flags continues
// where a killed run stopped and reuses everything done.
// Outputs in DIR: pareto.csv, pareto.svg (baselines marked), best.json (the winner: the finalist with
// the best validation accuracy), best_net.hpp (its generated header with trained weights), report.md.
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

#include "archetype/estimate/proxy_training.hpp"
#include "archetype/io/genotype_json.hpp"
#include "archetype/io/weights.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/search/driver.hpp"
#include "archetype/search/nsga2.hpp"
#include "archetype/search/report.hpp"
#include "archetype/space/codegen.hpp"
#include "archetype/space/fashion_mnist.hpp"

namespace at = archetype;
namespace fs = std::filesystem;
using space = at::fashion_mnist_space;
using genotype = space::genotype;

using lenet5 = at::sequential<at::conv2d<6, 5>, at::relu, at::max_pool<2>, at::conv2d<16, 5>, at::relu, at::max_pool<2>,
                              at::flatten, at::dense<120>, at::relu, at::dense<84>, at::relu, at::dense<10>>;
using lenet_space = at::search_space<at::shape{1, 28, 28}, lenet5>;  // no decisions: one network
constexpr std::size_t lenet_macs = at::network<at::shape{1, 28, 28}, lenet5>::total_cost.macs;
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
    double max_mmacs = 5.0;
    std::size_t population = 20, top = 2;
    std::size_t proxy_train = 6000, proxy_validation = 3000;
    int proxy_epochs = 2;
};

const char* const usage_text =
    "usage: fashion_search [--minutes M] [--threads T] [--seed S] [--data DIR] [--out DIR] [--evaluations N]\n"
    "                      [--final-epochs E] [--max-mmacs X] [--population P] [--top K] [--proxy-train N]\n"
    "                      [--proxy-validation N]\n"
    "  --minutes M       whole run, search and final training (default 14)\n"
    "  --threads T       networks trained at once, one per thread (default 2)\n"
    "  --seed S          seed of the split, the search and every training (default 1)\n"
    "  --data DIR        Fashion-MNIST IDX files (default $ARCHETYPE_FASHION_MNIST_DIR or\n"
    "                    /usr/share/datasets/fashion-mnist, package dataset-fashion-mnist)\n"
    "  --out DIR         run directory: checkpoint, log, reports (default runs/fashion); rerun to resume\n"
    "  --evaluations N   search budget in evaluations (default: what fits 40% of --minutes)\n"
    "  --final-epochs E  epochs of the full trainings (default: what fits the rest of --minutes)\n"
    "  --max-mmacs X     MAC budget of a candidate, in millions (default 5)\n"
    "  --population P    NSGA-II population and children per generation (default 20)\n"
    "  --top K           front members by validation accuracy trained fully (default 2)\n"
    "  --proxy-train N   training images of a candidate's proxy training (default 6000)\n"
    "  --proxy-validation N  images held out of the training set to score candidates (default 3000)\n";

[[noreturn]] void bad_flag(const std::string& why) {
    throw at::error("fashion_search: " + why + "\n" + usage_text);
}

template <class T>
T number(const std::string& flag, const std::string& v, double lo) {
    std::size_t used = 0;
    double x = 0;
    try {
        x = std::stod(v, &used);
    } catch (const std::logic_error&) {
        used = 0;
    }
    const bool integral = std::is_integral_v<T>;
    if (used != v.size() || v.empty() || !(x >= lo) || !std::isfinite(x) || (integral && x != std::floor(x)))
        bad_flag(flag + " takes " + (integral ? "an integer" : "a number") + " >= " + at::format_number(lo) +
                 ", not '" + v + "'");
    return T(x);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::cout << "fashion_search: neural architecture search on Fashion-MNIST\n" << usage_text;
            std::exit(0);
        }
        if (i + 1 >= argc) bad_flag("option " + a + " needs a value");
        const std::string v = argv[++i];
        if (a == "--minutes") o.minutes = number<double>(a, v, 0.5);
        else if (a == "--threads") o.threads = number<std::size_t>(a, v, 1);
        else if (a == "--seed") o.seed = number<std::uint64_t>(a, v, 0);
        else if (a == "--data") o.data = v;
        else if (a == "--out") o.out = v;
        else if (a == "--evaluations") o.evaluations = number<std::size_t>(a, v, 1);
        else if (a == "--final-epochs") o.final_epochs = number<int>(a, v, 1);
        else if (a == "--max-mmacs") o.max_mmacs = number<double>(a, v, 0.2);
        else if (a == "--population") o.population = number<std::size_t>(a, v, 4);
        else if (a == "--top") o.top = number<std::size_t>(a, v, 1);
        else if (a == "--proxy-train") o.proxy_train = number<std::size_t>(a, v, 100);
        else if (a == "--proxy-validation") o.proxy_validation = number<std::size_t>(a, v, 100);
        else bad_flag("unknown option '" + a + "'");
    }
    if (o.out.empty()) bad_flag("--out needs a directory name");
    return o;
}

at::sgd recipe_optimizer() { return {.lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = true}; }

template <class Space>
at::proxy_training<Space> make_proxy(const at::proxy_split& split, const options& o) {
    return {.train = &split.train, .validation = &split.validation, .epochs = o.proxy_epochs, .batch_size = 64,
            .optimizer = recipe_optimizer(), .seed = at::seed{o.seed}, .lr_schedule = at::schedule::cosine(o.proxy_epochs),
            .test = nullptr, .eval_batch_size = 500, .pool = nullptr};
}

// One network of the final comparison.
struct finalist {
    std::string name;                  // "search #1", "hand CNN", "LeNet-5"
    std::optional<genotype> g;         // empty for LeNet-5
    double validation_accuracy = 0.0;  // proxy validation accuracy (the search's estimate)
    double proxy_seconds = 0.0;        // wall time of its proxy evaluation (to plan the epochs)
    std::size_t macs = 0, params = 0;
    double test_accuracy = 0.0, train_seconds = 0.0;
    int epochs = 0;
};

std::string file_key(const finalist& f) {
    std::string k = f.g ? "g" : "lenet5";
    if (f.g)
        for (auto v : *f.g) k += "_" + std::to_string(v);
    return k;
}

// Trains a network of Space on the whole training set with the recipe and returns the test accuracy;
// the trained weights are kept in weights_path (and reused when a finished result exists).
template <class Space>
void train_fully(finalist& f, const typename Space::genotype& g, const at::dataset& train, const at::dataset& test,
                 int epochs, std::uint64_t seed, const fs::path& dir, std::mutex& print) {
    const fs::path result_path = dir / (file_key(f) + ".json");
    if (fs::exists(result_path)) {
        const at::json r = at::read_json_file(result_path);
        if (r.at("epochs").as_integer() == epochs && r.at("seed").as_integer() == std::int64_t(seed)) {
            f.test_accuracy = r.at("test_accuracy").as_number();
            f.train_seconds = r.at("seconds").as_number();
            f.epochs = epochs;
            return;
        }
    }
    const auto t0 = clock_type::now();
    typename Space::network_type net{at::seed{seed}};
    Space::apply(net, g);
    at::train_options o;
    o.epochs = epochs;
    o.batch_size = 64;
    o.shuffle_seed = at::seed{seed + 1};
    o.lr_schedule = at::schedule::cosine(epochs);
    o.on_epoch = [&](const at::epoch_report& r) {
        std::lock_guard lock(print);
        std::printf("  [%s] epoch %d/%d  train loss %.4f  train acc %.2f%%  (%.1f s)\n", f.name.c_str(), r.epoch + 1,
                    epochs, r.train_loss, 100 * r.train_accuracy, r.seconds);
        std::fflush(stdout);
    };
    at::train(net, train, recipe_optimizer(), o);
    f.test_accuracy = at::evaluate(net, test, 500).accuracy;
    f.train_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    f.epochs = epochs;
    if constexpr (std::is_same_v<Space, space>) at::save_weights(net, dir / (file_key(f) + ".atw"));
    at::json r = at::json::object();
    r.set("name", f.name).set("epochs", epochs).set("seed", seed);
    r.set("test_accuracy", f.test_accuracy).set("seconds", f.train_seconds);
    at::write_file_atomically(result_path, r.dump(2) + "\n");
    std::lock_guard lock(print);
    std::printf("  [%s] test accuracy %.2f%% after %d epochs (%.0f s)\n", f.name.c_str(), 100 * f.test_accuracy,
                epochs, f.train_seconds);
    std::fflush(stdout);
}

// A baseline's proxy evaluation, kept in `file` so that a rerun does not repeat it.
template <class Space>
finalist proxy_baseline(const std::string& name, const at::proxy_training<Space>& proxy,
                        const typename Space::genotype& g, const options& o, const fs::path& file) {
    finalist f;
    f.name = name;
    if (fs::exists(file)) {
        const at::json j = at::read_json_file(file);
        if (j.at("seed").as_integer() == std::int64_t(o.seed) &&
            j.at("proxy_train").as_integer() == std::int64_t(o.proxy_train) &&
            j.at("proxy_validation").as_integer() == std::int64_t(o.proxy_validation)) {
            f.validation_accuracy = j.at("validation_accuracy").as_number();
            f.proxy_seconds = j.at("seconds").as_number();
            return f;
        }
    }
    const at::proxy_result r = proxy(g);
    f.validation_accuracy = r.validation_accuracy;
    f.proxy_seconds = r.seconds;
    at::json j = at::json::object();
    j.set("seed", o.seed).set("proxy_train", o.proxy_train).set("proxy_validation", o.proxy_validation);
    j.set("validation_accuracy", r.validation_accuracy).set("seconds", r.seconds);
    at::write_file_atomically(file, j.dump(2) + "\n");
    return f;
}

struct plan {
    std::size_t evaluations = 0;
    int final_epochs = 0;
};
plan read_plan(const fs::path& p) {
    plan r;
    if (!fs::exists(p)) return r;
    const at::json j = at::read_json_file(p);
    if (const at::json* v = j.find("evaluations")) r.evaluations = std::size_t(v->as_integer());
    if (const at::json* v = j.find("final_epochs")) r.final_epochs = int(v->as_integer());
    return r;
}
void write_plan(const fs::path& p, const plan& r) {
    at::json j = at::json::object();
    if (r.evaluations) j.set("evaluations", r.evaluations);
    if (r.final_epochs) j.set("final_epochs", r.final_epochs);
    at::write_file_atomically(p, j.dump(2) + "\n");
}

struct search_deadline : std::exception {
    const char* what() const noexcept override { return "fashion_search: the search's share of --minutes is used"; }
};

std::string percent(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f%%", 100 * v);
    return b;
}
std::string mmacs(std::size_t m) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f M", double(m) * 1e-6);
    return b;
}

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
    std::printf("fashion_search: %s networks, up to %.1f M MACs; proxy: %zu training / %zu validation images "
                "(held out of the training set), %d epochs; %zu threads; budget %.1f min; run directory %s\n",
                space::cardinality.str().c_str(), o.max_mmacs, o.proxy_train, o.proxy_validation, o.proxy_epochs,
                o.threads, o.minutes, out.string().c_str());

    // ---- search -------------------------------------------------------------------------------------
    const fs::path plan_path = out / "plan.json";
    plan pl = read_plan(plan_path);
    if (o.evaluations) pl.evaluations = o.evaluations;
    const std::size_t first_budget = pl.evaluations ? pl.evaluations : o.population;
    at::nsga2<space> strategy({.population = o.population, .offspring = o.population, .budget = first_budget,
                               .directions = {at::direction::maximize, at::direction::minimize},
                               .crossover_probability = 0.9, .mutation_decisions = 1},
                              at::seed{o.seed});
    const double search_end = 0.4 * budget_s, search_deadline_s = 0.5 * budget_s;
    auto evaluate = [&](const genotype& g) -> at::evaluation {
        const at::cost c = space::cost_of(g);
        std::map<std::string, double> m{{"params", double(c.params)}, {"macs", double(c.macs)}};
        if (c.macs > max_macs) {  // not trained: infeasible by its relative excess
            m["untrained"] = 1;
            return {{0.0, double(c.macs)}, double(c.macs - max_macs) / double(max_macs), m};
        }
        if (!o.evaluations && elapsed() > search_deadline_s) throw search_deadline{};
        const at::proxy_result r = proxy(g);
        return {{r.validation_accuracy, double(r.macs)}, r.diverged ? 1.0 : 0.0, r.metrics()};
    };
    const std::string tag = "fashion_search:seed=" + std::to_string(o.seed) + ",population=" +
                            std::to_string(o.population) + ",max_mmacs=" + at::format_number(o.max_mmacs) +
                            ",proxy=" + std::to_string(o.proxy_train) + "/" + std::to_string(o.proxy_validation) +
                            "x" + std::to_string(o.proxy_epochs);
    const at::driver_options driver_options{
        .threads = o.threads, .checkpoint = out / "search.ckpt", .log = out / "search.jsonl", .resume = true,
        .durable_log = false, .tag = tag,
        .progress = {.style = at::progress_style::automatic, .stream = &std::cout, .line_interval = 10.0,
                     .bar_width = 30, .label = "search", .clock = {}}};
    std::optional<at::search_driver<at::nsga2<space>>> driver;
    at::evaluation_cache<genotype> cache;  // every computed evaluation, with its wall time
    auto run_driver = [&] {
        driver.emplace(strategy, driver_options);  // a new driver resumes from the checkpoint
        driver->run(evaluate);
        return driver->cache();
    };
    bool stopped_early = false;
    try {
        cache = run_driver();
        if (!pl.evaluations) {  // the first generation measured the speed: plan the rest of the search
            double trained_seconds = 0;
            std::size_t trained = 0;
            for (const auto& [g, c] : cache)
                if (!c.result.metrics.contains("untrained")) trained_seconds += c.seconds, ++trained;
            const double per_eval = trained ? trained_seconds / double(trained) / double(o.threads) : 1.0;
            const double more = std::max(0.0, (search_end - elapsed()) / per_eval);
            pl.evaluations = o.population * (1 + std::size_t(std::lround(more / double(o.population))));
            write_plan(plan_path, pl);
            std::printf("search plan: %zu evaluations (%.1f s per trained candidate and thread)\n", pl.evaluations,
                        per_eval * double(o.threads));
        }
        strategy.set_budget(pl.evaluations);
        cache = run_driver();
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

    // ---- finalists ----------------------------------------------------------------------------------
    std::vector<std::size_t> by_accuracy;
    for (std::size_t i : front)
        if (history[i].result.feasible()) by_accuracy.push_back(i);
    std::stable_sort(by_accuracy.begin(), by_accuracy.end(), [&](std::size_t a, std::size_t b) {
        return history[a].result.objectives[0] > history[b].result.objectives[0];
    });
    if (by_accuracy.empty()) throw at::error("fashion_search: the search found no feasible network; raise --max-mmacs");
    std::vector<finalist> finals;
    auto add_searched = [&](std::size_t i, const std::string& name) {
        for (const auto& f : finals)
            if (f.g == history[i].genotype) return;
        finalist f{.name = name, .g = history[i].genotype, .validation_accuracy = history[i].result.objectives[0]};
        const auto c = cache.find(history[i].genotype);
        f.proxy_seconds = c == cache.end() ? 0.0 : c->second.seconds;
        finals.push_back(f);
    };
    for (std::size_t k = 0; k < std::min(o.top, by_accuracy.size()); ++k)
        add_searched(by_accuracy[k], "search #" + std::to_string(k + 1));
    for (std::size_t i : by_accuracy)  // the most accurate front member within LeNet-5's MACs
        if (history[i].result.objectives[1] <= double(lenet_macs)) {
            add_searched(i, "search small");
            break;
        }
    // Baselines: proxy-evaluated with the same settings, so they can be placed on the front's plot.
    const genotype hand_g = at::parse_text<space>(hand_cnn_text);
    finals.push_back(proxy_baseline<space>("hand CNN", proxy, hand_g, o, out / "final" / "hand_cnn.proxy.json"));
    finals.back().g = hand_g;
    finals.push_back(proxy_baseline<lenet_space>("LeNet-5", make_proxy<lenet_space>(split, o), {}, o,
                                                 out / "final" / "lenet5.proxy.json"));
    for (auto& f : finals) {
        const at::cost c = f.g ? space::cost_of(*f.g) : lenet_space::cost_of({});
        f.macs = c.macs;
        f.params = c.params;
    }

    // ---- full training, one network per thread, longest first -----------------------------------------
    if (o.final_epochs) pl.final_epochs = o.final_epochs;
    const double proxy_samples = double(o.proxy_epochs * o.proxy_train) + double(o.proxy_validation) / 3.0;
    const double full_samples = double(train.size()) + double(test.size()) / 3.0;
    std::vector<double> per_epoch;
    for (const auto& f : finals) per_epoch.push_back(std::max(f.proxy_seconds, 0.1) / proxy_samples * full_samples);
    std::vector<std::size_t> order(finals.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return per_epoch[a] > per_epoch[b]; });
    if (!pl.final_epochs) {
        std::vector<double> load(o.threads, 0.0);  // longest-processing-time schedule of one epoch
        for (std::size_t i : order) *std::min_element(load.begin(), load.end()) += per_epoch[i];
        const double makespan = *std::max_element(load.begin(), load.end());
        const double left = budget_s - elapsed() - 20.0;
        pl.final_epochs = std::clamp(int(left / makespan), 1, 40);
        write_plan(plan_path, pl);
    }
    std::printf("full training: %zu networks, %d epochs each, on %zu threads\n", finals.size(), pl.final_epochs,
                o.threads);
    std::fflush(stdout);
    std::mutex print;
    {
        at::thread_pool pool(o.threads);
        std::atomic<std::size_t> next{0};
        pool.parallel_for(std::min(o.threads, finals.size()), [&](std::size_t) {
            for (std::size_t k; (k = next.fetch_add(1)) < order.size();) {
                finalist& f = finals[order[k]];
                if (f.g)
                    train_fully<space>(f, *f.g, train, test, pl.final_epochs, o.seed, out / "final", print);
                else
                    train_fully<lenet_space>(f, {}, train, test, pl.final_epochs, o.seed, out / "final", print);
            }
        });
    }

    // ---- reports ------------------------------------------------------------------------------------
    const finalist& best = finals.front();  // the best validation accuracy on the front
    const finalist& lenet = finals.back();
    at::pareto_report_options<genotype> ro{
        .objective_names = {"validation_accuracy", "macs"}, .x = 1, .y = 0, .x_scale = 1e-6, .y_scale = 100.0,
        .plot = {.title = "Fashion-MNIST NSGA-II search (" + std::to_string(history.size()) + " evaluations, seed " +
                          std::to_string(o.seed) + ")",
                 .x_label = "MACs per image (millions)",
                 .y_label = "validation accuracy after proxy training (%)", .width = 800, .height = 560},
        .baselines = {}, .describe = {}};
    for (const auto& f : finals)
        if (f.name == "hand CNN" || f.name == "LeNet-5")
            ro.baselines.push_back({double(f.macs) * 1e-6, 100 * f.validation_accuracy, f.name, false});
    at::write_pareto_report(strategy, out / "pareto.csv", out / "pareto.svg", ro);

    at::json best_json = at::json::object();
    best_json.set("genotype", at::to_json<space>(*best.g)).set("text", at::to_text<space>(*best.g));
    best_json.set("macs", best.macs).set("params", best.params);
    best_json.set("validation_accuracy", best.validation_accuracy).set("test_accuracy", best.test_accuracy);
    best_json.set("full_training_epochs", best.epochs);
    at::write_file_atomically(out / "best.json", best_json.dump(2) + "\n");
    {
        auto net = std::make_unique<space::network_type>(at::seed{o.seed});
        at::load_weights(*net, out / "final" / (file_key(best) + ".atw"));
        at::write_header<space>(*net, *best.g, out / "best_net.hpp", {.name = "best_net"});
    }

    bool dominates = false;  // a front member with no more MACs than LeNet-5 and a better validation accuracy
    for (std::size_t i : front)
        dominates = dominates || (history[i].result.feasible() && history[i].result.objectives[1] <= double(lenet_macs) &&
                                  history[i].result.objectives[0] > lenet.validation_accuracy);
    std::string md = "# Fashion-MNIST architecture search\n\n";
    md += "Search: NSGA-II over `fashion_mnist_space` (" + space::cardinality.str() + " networks), " +
          std::to_string(history.size()) + " evaluations" + (stopped_early ? " (stopped early: rerun to finish)" : "") +
          ", population " + std::to_string(o.population) + ", MACs <= " + at::format_number(o.max_mmacs) +
          " M, seed " + std::to_string(o.seed) + ", " + std::to_string(o.threads) + " threads. Proxy: " +
          std::to_string(o.proxy_epochs) + " epochs on " + std::to_string(o.proxy_train) + " training images, " +
          "validation on " + std::to_string(o.proxy_validation) + " images held out of the training set.\n\n";
    md += "Full training: all 60,000 training images, " + std::to_string(pl.final_epochs) +
          " epochs, SGD Nesterov 0.9, lr 0.05 cosine, weight decay 5e-4, batch 64; test accuracy on the 10,000 "
          "test images (never used for selection).\n\n";
    md += "| network | MACs | params | validation acc (proxy) | test acc | train time |\n|---|---|---|---|---|---|\n";
    for (const auto& f : finals) {
        char t[32];
        std::snprintf(t, sizeof t, "%.0f s", f.train_seconds);
        md += "| " + f.name + (f.g ? " `" + at::to_text<space>(*f.g) + "`" : std::string()) + " | " + mmacs(f.macs) +
              " | " + std::to_string(f.params) + " | " + percent(f.validation_accuracy) + " | " +
              percent(f.test_accuracy) + " | " + t + " |\n";
    }
    char tail[256];
    std::snprintf(tail, sizeof tail, "\nSearch time %.0f s; whole run %.0f s. Front size %zu.\n", search_seconds,
                  elapsed(), front.size());
    md += tail;
    md += std::string("The front ") + (dominates ? "dominates" : "does not dominate") +
          " LeNet-5 on validation accuracy (a member with no more MACs and a higher accuracy).\n";
    md += "Winner (best validation accuracy): `" + at::to_text<space>(*best.g) + "`, " + mmacs(best.macs) +
          " MACs, test accuracy " + percent(best.test_accuracy) + "; see best.json and best_net.hpp.\n";
    at::write_file_atomically(out / "report.md", md);
    std::cout << "\n" << md;
    return 0;
} catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
}
