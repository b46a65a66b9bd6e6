// examples/fashion_halving.hpp — the main job's final selection: successive halving over real trainings
// (search/successive_halving.hpp), so that networks a short proxy under-rates still get their chance.
//
// Contract: halving_trainer<Space> is the evaluator of successive_halving for a list of genotypes. A
// rung's budget is a number of epochs b; each candidate of the rung trains from scratch for b epochs with
// the recipe (fashion::recipe_optimizer, batch 64, a cosine schedule over the b epochs, the given
// augmentation) on the training images minus the validation images, and scores its accuracy on the
// validation images (held out of the training set; the test set is never used to select). A fresh,
// annealed training per rung costs more than continuing one long schedule, but mid-schedule accuracies
// swing by several points (measured: 83–90% from one epoch to the next at epochs 10–14 of 30), which
// would make the ranking a lottery. The last rung is the full training of E epochs: the winner's test
// accuracy is measured and its weights and result kept (halving_<key>.atw, halving_<key>.json). Resume:
// each rung's score is kept in <dir>/halving_<key>.scores.json with the settings (seed, augmentation,
// data sizes), which must match to be reused. Helpers: halving_epochs (the rung budgets),
// halving_rungs, band_candidates (who competes) and finals_seconds (the planner's cost model).
// Not part of the library: examples only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "archetype/search/successive_halving.hpp"
#include "fashion_search_support.hpp"

namespace fashion {

struct halving_settings {
    const at::dataset* train = nullptr;       // the training images minus validation
    const at::dataset* validation = nullptr;  // held out of the training set: the score
    const at::dataset* test = nullptr;        // measured for the winner only
    int epochs = 1;                           // E: the last rung's budget and the schedule's length
    regularization reg{};
    std::uint64_t seed = 1;
    fs::path dir;                             // where results are kept
    std::mutex* print = nullptr;
};

// Epoch budgets of `rungs` rungs ending at E, ⌈E/eta^k⌉-spaced, none below first_min (but E), strictly
// increasing (fewer rungs when E is too small to space them). first_min: short trainings rank small
// networks first, long ones large networks; the crossover was measured at 5–6 epochs on all images.
inline std::vector<double> halving_epochs(int epochs, std::size_t rungs, double eta, int first_min = 1) {
    std::vector<double> out;
    for (double b : at::geometric_budgets(double(epochs), rungs, eta)) {
        const double e = std::min(double(epochs), std::max({1.0, double(first_min), std::round(b)}));
        if (out.empty() || e > out.back()) out.push_back(e);
    }
    return out;
}

// Rungs for n candidates so that the last has one: 1 + ⌈log_eta n⌉.
inline std::size_t halving_rungs(std::size_t n, double eta) {
    std::size_t r = 1;
    for (std::size_t m = n; m > 1; m = at::halving_survivors(m, eta)) ++r;
    return r;
}

// The candidates among the evaluated networks (macs[i], accuracy[i], params[i]): per MAC band (`bands`
// bands log-spaced from 1/range of the largest network's MACs up to it) the most accurate, and with
// per_band > 1 also the per_band − 1 with the most parameters among the band's more accurate half
// (ties: the more accurate, then the lower index). At equal MACs, dense convolutions hold more
// parameters than depthwise and MBConv blocks and gain more from long trainings, which a 2-epoch proxy
// does not see (benchmarks/RESULTS.md, learning curves). Then, while fewer than bands · per_band are
// chosen (bands without networks), the most accurate ones not yet chosen. Returned in band order.
inline std::vector<std::size_t> band_candidates(const std::vector<std::size_t>& macs,
                                                const std::vector<double>& accuracy,
                                                const std::vector<std::size_t>& params, std::size_t bands,
                                                std::size_t per_band, double range) {
    std::vector<std::size_t> out;
    if (macs.empty() || bands == 0 || per_band == 0) return out;
    const double hi = double(*std::max_element(macs.begin(), macs.end()));
    const double lo = std::max(double(*std::min_element(macs.begin(), macs.end())), hi / range);
    const double ratio = std::pow(hi / lo, 1.0 / double(bands));
    auto chosen = [&](std::size_t i) { return std::find(out.begin(), out.end(), i) != out.end(); };
    auto more_accurate = [&](std::size_t x, std::size_t y) { return accuracy[x] > accuracy[y]; };
    for (std::size_t b = 0; b < bands; ++b) {
        const double a = lo * std::pow(ratio, double(b));
        const double z = b + 1 == bands ? hi : lo * std::pow(ratio, double(b + 1));
        std::vector<std::size_t> members;  // index order
        for (std::size_t i = 0; i < macs.size(); ++i)
            if (double(macs[i]) >= a && (double(macs[i]) < z || (b + 1 == bands && double(macs[i]) <= z)))
                members.push_back(i);
        if (members.empty()) continue;
        std::stable_sort(members.begin(), members.end(), more_accurate);
        if (!chosen(members.front())) out.push_back(members.front());
        members.resize((members.size() + 1) / 2);  // the more accurate half, the favourite first
        std::stable_sort(members.begin(), members.end(), [&](auto x, auto y) { return params[x] > params[y]; });
        for (std::size_t k = 0, added = 1; k < members.size() && added < per_band; ++k)
            if (!chosen(members[k])) out.push_back(members[k]), ++added;
    }
    std::vector<std::size_t> rest(macs.size());
    for (std::size_t i = 0; i < rest.size(); ++i) rest[i] = i;
    std::stable_sort(rest.begin(), rest.end(), more_accurate);
    for (std::size_t i : rest)
        if (out.size() < bands * per_band && !chosen(i)) out.push_back(i);
    return out;
}

// Planned wall seconds of the final selection and the reference trainings, from seconds per epoch
// on one thread: each rung as if its dearest candidates went on (an upper bound); the rungs but the last
// spread over the threads longest first, a lone training on t threads counted 1 + 0.3·(t − 1) times
// faster (this VM's second core gave 1.3–1.8× on the LeNet epoch); the last rung's full trainings and
// the references together, one network per thread, longest first.
inline double finals_seconds(std::vector<double> candidate_epoch, const std::vector<double>& reference_epoch,
                             const std::vector<double>& budgets, double eta, std::size_t threads) {
    auto makespan = [&](std::vector<double> jobs, bool share_threads) {
        std::sort(jobs.rbegin(), jobs.rend());
        const std::size_t lanes = std::max<std::size_t>(1, std::min(threads, jobs.size()));
        const double speedup = share_threads ? 1.0 + 0.3 * double(threads / lanes - 1) : 1.0;
        std::vector<double> load(lanes, 0.0);
        for (double j : jobs) *std::min_element(load.begin(), load.end()) += j / speedup;
        return *std::max_element(load.begin(), load.end());
    };
    std::sort(candidate_epoch.rbegin(), candidate_epoch.rend());
    const auto sizes = at::halving_rung_sizes(candidate_epoch.size(), budgets.size(), eta);
    double total = 0.0;
    std::vector<double> last;
    for (std::size_t k = 0; k < budgets.size(); ++k) {
        std::vector<double> jobs;  // every rung trains from scratch
        for (std::size_t c = 0; c < sizes[k] && c < candidate_epoch.size(); ++c) jobs.push_back(budgets[k] * candidate_epoch[c]);
        if (k + 1 < budgets.size())
            total += makespan(jobs, true);
        else
            last = jobs;
    }
    for (double e : reference_epoch) last.push_back(budgets.back() * e);
    return total + makespan(last, false);
}

template <class Space>
class halving_trainer {
public:
    using genotype = typename Space::genotype;

    halving_trainer(halving_settings s, std::vector<finalist<genotype>>& candidates)
        : s_(std::move(s)), candidates_(candidates) {}

    std::string settings_text() const {
        return "seed=" + std::to_string(s_.seed) + ",augment=" + regularization_key(s_.reg) +
               ",train=" + std::to_string(s_.train->size()) + ",validation=" + std::to_string(s_.validation->size());
    }

    double operator()(const at::halving_step& step) {
        finalist<genotype>& f = candidates_[step.candidate];
        const int epochs = int(step.budget);
        const bool last = epochs == s_.epochs;
        if (const auto kept = kept_score(f, epochs); kept && (!last || reuse_final(f))) return *kept;
        const auto t0 = std::chrono::steady_clock::now();
        std::optional<at::thread_pool> pool;
        typename Space::network_type net{at::seed{s_.seed}, step.threads > 1 ? &pool.emplace(step.threads) : nullptr};
        Space::apply(net, *f.g);
        at::train(net, *s_.train, recipe_optimizer(),
                  recipe_options(epochs, s_.reg, s_.seed, f.name, last ? s_.print : nullptr));
        const double score = at::evaluate(net, *s_.validation, 64).accuracy;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        keep_score(f, epochs, score);
        {
            std::lock_guard lock(files_);
            epoch_seconds_[step.candidate] = seconds / epochs;
        }
        if (last) {
            f.train_seconds = seconds;
            finish(f, net);
        }
        std::lock_guard lock(*s_.print);
        std::printf("  [%s] rung %zu: validation %.2f%% after %d epochs (%.0f s)\n", f.name.c_str(), step.rung,
                    100 * score, epochs, seconds);
        std::fflush(stdout);
        return score;
    }

    // The last rung's epochs, when planned again after the early rungs (at least the early rungs' E).
    void set_final_epochs(int epochs) { s_.epochs = epochs; }

    // Wall seconds per epoch of the candidate's last training here, its cores shared with the other
    // trainings of its rung (0 when it was not trained in this process: a kept score was reused).
    double measured_epoch_seconds(std::size_t candidate) const {
        std::lock_guard lock(files_);
        const auto it = epoch_seconds_.find(candidate);
        return it == epoch_seconds_.end() ? 0.0 : it->second;
    }

    // The files of a candidate's selection: its rung scores, and for the winner the weights and result.
    fs::path weights_path(const finalist<genotype>& f) const { return s_.dir / (key(f) + ".atw"); }

private:
    // Apart from train_fully's files: a reference network may also be a candidate.
    static std::string key(const finalist<genotype>& f) { return "halving_" + file_key(f); }
    fs::path score_path(const finalist<genotype>& f) const { return s_.dir / (key(f) + ".scores.json"); }
    fs::path result_path(const finalist<genotype>& f) const { return s_.dir / (key(f) + ".json"); }

    std::optional<double> kept_score(const finalist<genotype>& f, int epochs) const {
        std::lock_guard lock(files_);
        const fs::path p = score_path(f);
        if (!fs::exists(p)) return std::nullopt;
        const at::json j = at::read_json_file(p);
        if (j.at("settings").as_string() != settings_text()) return std::nullopt;
        if (const at::json* v = j.at("validation").find(std::to_string(epochs))) return v->as_number();
        return std::nullopt;
    }

    void keep_score(const finalist<genotype>& f, int epochs, double score) const {
        std::lock_guard lock(files_);
        const fs::path p = score_path(f);
        at::json j = at::json::object();
        at::json v = at::json::object();
        if (fs::exists(p)) {
            const at::json old = at::read_json_file(p);
            if (old.at("settings").as_string() == settings_text()) v = old.at("validation");
        }
        v.set(std::to_string(epochs), score);
        j.set("settings", settings_text()).set("validation", v);
        at::write_file_atomically(p, j.dump(2) + "\n");
    }

    // The winner: test accuracy, weights and the result file of a full training.
    void finish(finalist<genotype>& f, typename Space::network_type& net) const {
        f.test_accuracy = at::evaluate(net, *s_.test, 64).accuracy;
        f.epochs = s_.epochs;
        at::save_weights(net, weights_path(f));
        at::json r = at::json::object();
        r.set("name", f.name).set("settings", settings_text()).set("test_accuracy", f.test_accuracy);
        r.set("seconds", f.train_seconds);
        at::write_file_atomically(result_path(f), r.dump(2) + "\n");
    }

    // The kept full training of the winner, when its result and weights are both there.
    bool reuse_final(finalist<genotype>& f) const {
        const fs::path p = result_path(f);
        if (!fs::exists(p) || !fs::exists(weights_path(f))) return false;
        const at::json r = at::read_json_file(p);
        if (r.at("settings").as_string() != settings_text()) return false;
        f.test_accuracy = r.at("test_accuracy").as_number();
        f.train_seconds = r.at("seconds").as_number();
        f.epochs = s_.epochs;
        return true;
    }

    halving_settings s_;
    std::vector<finalist<genotype>>& candidates_;
    mutable std::mutex files_;                     // the files, and epoch_seconds_
    std::map<std::size_t, double> epoch_seconds_;  // candidate -> wall seconds per epoch, shared cores
};

}  // namespace fashion
