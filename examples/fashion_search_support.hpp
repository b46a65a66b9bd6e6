// examples/fashion_search_support.hpp — the pieces of the main job (examples/fashion_search.cpp) that
// are not the search itself: the finalists' full training with its on-disk results, the baselines'
// proxy evaluations, the run plan, the boundary seeds of the initial population, and number formats.
//
// Contract: everything a finished step produced is kept in the run directory, so a rerun with the same
// flags reuses it: train_fully keeps <dir>/<key>.json (test accuracy, epochs, regularization, seed) and
// the weights <key>.atw, and reuses a result of the same epochs, regularization and seed; proxy_baseline keeps its proxy result in
// a file and reuses it when seed and proxy settings match; seconds_per_epoch times a short training. plan.json holds the planned evaluations, a
// flag saying whether that number is final, and the final epochs. boundary_seeds<Space>(n, cap) is up
// to n distinct genotypes at the low-MAC boundary of the space: the smallest-MAC genotype of each
// pair of alternatives of the decisions "width" and "head" (in that order), then genotypes of at most
// `cap` MACs spread evenly over their MAC range (deterministic: no randomness); capacity_seeds<Space>(cap)
// the other end: per width and head, the network with the most parameters within `cap` MACs. Not part
// of the library: examples only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "archetype/estimate/proxy_training.hpp"
#include "archetype/io/json.hpp"
#include "archetype/io/weights.hpp"

namespace fashion {

namespace at = archetype;
namespace fs = std::filesystem;

// One network of the final comparison.
template <class Genotype>
struct finalist {
    std::string name;                  // "search #1", "hand CNN", "LeNet-5"
    std::optional<Genotype> g;         // empty for LeNet-5
    double validation_accuracy = 0.0;  // proxy validation accuracy (the search's estimate)
    double proxy_seconds = 0.0;        // wall time of its proxy evaluation
    std::size_t macs = 0, params = 0;
    double lut_us = 0.0;               // latency from the host lookup table (objective latency only)
    double measured_us = 0.0;          // measured batch-1 forward latency after training
    double test_accuracy = 0.0, train_seconds = 0.0;
    int epochs = 0;
};

template <class Genotype>
std::string file_key(const finalist<Genotype>& f) {
    std::string k = f.g ? "g" : "lenet5";
    if (f.g)
        for (auto v : *f.g) k += "_" + std::to_string(v);
    return k;
}

inline at::sgd recipe_optimizer() { return {.lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = true}; }

// What a full training adds to the recipe (the search's proxies use neither): augmentation and label
// smoothing.
struct regularization {
    at::augmentation augment{};
    float label_smoothing = 0.0f;
};

// The recipe's training options for `epochs` epochs (batch 64, cosine schedule over them, the shuffle
// seed after `seed`, reg's augmentation and label smoothing); with `print`, every epoch is reported as
// "[name] epoch k/E ...".

inline at::train_options recipe_options(int epochs, const regularization& reg, std::uint64_t seed,
                                        const std::string& name = {}, std::mutex* print = nullptr) {
    at::train_options o;
    o.epochs = epochs;
    o.batch_size = 64;
    o.shuffle_seed = at::seed{seed + 1};
    o.lr_schedule = at::schedule::cosine(epochs);
    o.augment = reg.augment;
    o.label_smoothing = reg.label_smoothing;
    if (print)
        o.on_epoch = [name, epochs, print](const at::epoch_report& r) {
            std::lock_guard lock(*print);
            std::printf("  [%s] epoch %d/%d  train loss %.4f  train acc %.2f%%  (%.1f s)\n", name.c_str(), r.epoch + 1,
                        epochs, r.train_loss, 100 * r.train_accuracy, r.seconds);
            std::fflush(stdout);
        };
    return o;
}

// The regularization of a training, as it keys kept results: "shift 2, flip" (", erase 0.5" when erasing,
// ", smoothing 0.1" with label smoothing).
inline std::string regularization_key(const regularization& r) {
    const at::augmentation& a = r.augment;
    char extra[96] = "";
    int used = 0;
    if (a.erase > 0.0f) used = std::snprintf(extra, sizeof extra, ", erase %g", double(a.erase));
    if (r.label_smoothing > 0.0f)
        std::snprintf(extra + used, sizeof extra - std::size_t(used), ", smoothing %g", double(r.label_smoothing));
    return "shift " + std::to_string(a.shift) + (a.hflip ? ", flip" : ", no flip") + extra;
}

// Trains g's network of Space on the whole training set with the recipe and sets f's test accuracy;
// the result and the weights are kept in dir (and a finished result of the same epochs and seed reused).
template <class Space, class Genotype>
void train_fully(finalist<Genotype>& f, const typename Space::genotype& g, const at::dataset& train,
                 const at::dataset& test, int epochs, const regularization& reg, std::uint64_t seed,
                 const fs::path& dir, std::mutex& print) {
    const std::string augment_text = regularization_key(reg);
    const fs::path result_path = dir / (file_key(f) + ".json");
    if (fs::exists(result_path) && fs::exists(dir / (file_key(f) + ".atw"))) {
        const at::json r = at::read_json_file(result_path);
        if (r.at("epochs").as_integer() == epochs && r.at("seed").as_integer() == std::int64_t(seed) &&
            r.find("augment") && r.at("augment").as_string() == augment_text) {
            f.test_accuracy = r.at("test_accuracy").as_number();
            f.train_seconds = r.at("seconds").as_number();
            f.epochs = epochs;
            return;
        }
    }
    const auto t0 = std::chrono::steady_clock::now();
    typename Space::network_type net{at::seed{seed}};
    Space::apply(net, g);
    at::train(net, train, recipe_optimizer(), recipe_options(epochs, reg, seed, f.name, &print));
    f.test_accuracy = at::evaluate(net, test, 64).accuracy;  // the training batch: no larger workspace
    f.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    f.epochs = epochs;
    at::save_weights(net, dir / (file_key(f) + ".atw"));
    at::json r = at::json::object();
    r.set("name", f.name).set("epochs", epochs).set("augment", augment_text).set("seed", seed);
    r.set("test_accuracy", f.test_accuracy).set("seconds", f.train_seconds);
    at::write_file_atomically(result_path, r.dump(2) + "\n");
    std::lock_guard lock(print);
    std::printf("  [%s] test accuracy %.2f%% after %d epochs (%.0f s)\n", f.name.c_str(), 100 * f.test_accuracy,
                epochs, f.train_seconds);
    std::fflush(stdout);
}

// Wall seconds of one full-training epoch of g's network (with the test evaluation), from a timed
// training on the first 1,280 images after an untimed one on 256 (which pays the network's one-time
// allocations): fixed costs must not be extrapolated, as a proxy's time would be.
template <class Space>
double seconds_per_epoch(const typename Space::genotype& g, const at::dataset& train, const at::dataset& test) {
    std::vector<std::size_t> first(std::min<std::size_t>(1280, train.size()));
    for (std::size_t i = 0; i < first.size(); ++i) first[i] = i;
    const at::dataset part = at::select_samples(train, first);
    typename Space::network_type net{at::seed{1}};
    Space::apply(net, g);
    const at::train_options o = recipe_options(1, {}, 0);
    const std::vector<std::size_t> warm(first.begin(), first.begin() + std::ptrdiff_t(std::min<std::size_t>(256, first.size())));
    at::train(net, at::select_samples(train, warm), recipe_optimizer(), o);  // untimed: allocations, page faults
    const auto t0 = std::chrono::steady_clock::now();
    at::train(net, part, recipe_optimizer(), o);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return s * (double(train.size()) + double(test.size()) / 3.0) / double(part.size());
}

// A baseline's proxy evaluation, kept in `file` (with `settings`, which must match to be reused).
template <class Space, class Genotype>
finalist<Genotype> proxy_baseline(const std::string& name, const at::proxy_training<Space>& proxy,
                                  const typename Space::genotype& g, const std::string& settings,
                                  const fs::path& file) {
    finalist<Genotype> f;
    f.name = name;
    if (fs::exists(file)) {
        const at::json j = at::read_json_file(file);
        if (const at::json* s = j.find("settings"); s && s->as_string() == settings) {
            f.validation_accuracy = j.at("validation_accuracy").as_number();
            f.proxy_seconds = j.at("seconds").as_number();
            return f;
        }
    }
    const at::proxy_result r = proxy(g);
    f.validation_accuracy = r.validation_accuracy;
    f.proxy_seconds = r.seconds;
    at::json j = at::json::object();
    j.set("settings", settings).set("validation_accuracy", r.validation_accuracy).set("seconds", r.seconds);
    at::write_file_atomically(file, j.dump(2) + "\n");
    return f;
}

struct plan {
    std::size_t evaluations = 0;  // planned search evaluations (0: none yet)
    bool search_final = false;    // evaluations is the search's final budget
    int final_epochs = 0;         // E of the selection's early rungs (as if the dearest candidates went on)
    int last_epochs = 0;          // the last rung's and the references' epochs (0: not planned yet)
};
inline plan read_plan(const fs::path& p) {
    plan r;
    if (!fs::exists(p)) return r;
    const at::json j = at::read_json_file(p);
    if (const at::json* v = j.find("evaluations")) r.evaluations = std::size_t(v->as_integer());
    if (const at::json* v = j.find("search_final")) r.search_final = v->as_bool();
    if (const at::json* v = j.find("final_epochs")) r.final_epochs = int(v->as_integer());
    if (const at::json* v = j.find("last_epochs")) r.last_epochs = int(v->as_integer());
    return r;
}
inline void write_plan(const fs::path& p, const plan& r) {
    at::json j = at::json::object();
    if (r.evaluations) j.set("evaluations", r.evaluations).set("search_final", r.search_final);
    if (r.final_epochs) j.set("final_epochs", r.final_epochs);
    if (r.last_epochs) j.set("last_epochs", r.last_epochs);
    at::write_file_atomically(p, j.dump(2) + "\n");
}

// Up to n distinct genotypes at the low-MAC boundary (see the contract above).
template <class Space>
std::vector<typename Space::genotype> boundary_seeds(std::size_t n, std::size_t cap) {
    using genotype = typename Space::genotype;
    const std::size_t width = Space::find("width"), head = Space::find("head");
    const std::size_t heads = Space::decisions[head].size;
    std::vector<std::optional<genotype>> smallest(Space::decisions[width].size * heads);
    std::vector<std::pair<std::size_t, genotype>> under;  // (MACs, genotype), index order
    const std::uint64_t count = Space::cardinality.to_u64();
    for (std::uint64_t i = 0; i < count; ++i) {
        const genotype g = Space::from_index(at::big_count(i));
        const std::size_t macs = Space::cost_of(g).macs;
        auto& s = smallest[g[width] * heads + g[head]];
        if (!s || macs < Space::cost_of(*s).macs) s = g;
        if (macs <= cap) under.emplace_back(macs, g);
    }
    std::vector<genotype> out;
    auto add = [&](const genotype& g) {
        if (out.size() < n && std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
    };
    for (const auto& s : smallest)
        if (s) add(*s);
    std::stable_sort(under.begin(), under.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    const std::size_t picks = n > out.size() ? n - out.size() : 0;
    for (std::size_t k = 0; k < picks && !under.empty(); ++k)  // quantiles (2k+1)/(2·picks) of the MAC order
        add(under[std::min(under.size() - 1, (2 * k + 1) * under.size() / (2 * picks))].second);
    return out;
}

// Up to one genotype per pair of alternatives of "width" and "head": the one with the most parameters
// among those of at most `cap` MACs (ties: fewer MACs, then the lower index). The other end of the
// budget from boundary_seeds: a search that breeds from the accuracy-MACs front and a 2-epoch proxy
// both favour small networks, so without these the largest networks the budget allows, the ones that
// gain most from long trainings, are hardly ever trained.
template <class Space>
std::vector<typename Space::genotype> capacity_seeds(std::size_t cap) {
    using genotype = typename Space::genotype;
    const std::size_t width = Space::find("width"), head = Space::find("head");
    const std::size_t heads = Space::decisions[head].size;
    std::vector<std::optional<genotype>> best(Space::decisions[width].size * heads);
    std::vector<at::cost> best_cost(best.size());
    const std::uint64_t count = Space::cardinality.to_u64();
    for (std::uint64_t i = 0; i < count; ++i) {
        const genotype g = Space::from_index(at::big_count(i));
        const at::cost c = Space::cost_of(g);
        const std::size_t slot = g[width] * heads + g[head];
        if (c.macs > cap) continue;
        const at::cost& b = best_cost[slot];
        if (!best[slot] || c.params > b.params || (c.params == b.params && c.macs < b.macs))
            best[slot] = g, best_cost[slot] = c;
    }
    std::vector<genotype> out;
    for (const auto& g : best)
        if (g) out.push_back(*g);
    return out;
}

inline std::string percent(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f%%", 100 * v);
    return b;
}
inline std::string mmacs(std::size_t m) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f M", double(m) * 1e-6);
    return b;
}
inline std::string microseconds(double us) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f µs", us);
    return b;
}

}  // namespace fashion
