// archetype/estimate/proxy_training.hpp — a candidate's validation accuracy after a short training.
//
// Contract: split_training_set(training_set, train_size, validation_size, seed) draws two disjoint
// parts of a *training* set by one seeded shuffle (each keeps the original order; the source indices
// are kept), so validation never touches the test set. proxy_training<Space, Opt = sgd> is an aggregate
// of settings, written with designated initialisers:
//     at::proxy_training<space> eval{.train = &split.train, .validation = &split.validation,
//                                    .epochs = 2, .batch_size = 32,
//                                    .optimizer = at::sgd{.lr = 0.05f, .momentum = 0.9f}, .seed = at::seed{1}};
// evaluate(g) (or eval(g)) builds a fresh Space::network_type, initialises it from a seed derived from
// (seed, g) alone, selects g's alternatives (Space::apply), trains it with archetype::train (its shuffle
// seed also derived from (seed, g); a fresh copy of `optimizer`), and returns a proxy_result: the
// validation accuracy (the objective, maximised), params and MACs of g from the compile-time tables
// (Space::cost_of), the wall time, and the test accuracy when `test` is set (reported, never an
// objective). The same settings and genotype give the same result bit for bit, whatever the order of
// evaluations, the thread count of `pool`, or the thread evaluating: evaluate is const and keeps no
// state, so several threads may call it at once on one evaluator or on copies — each call has its own
// network — provided `pool` is null or not shared between concurrent calls (a thread_pool runs one
// parallel_for at a time). The datasets are read, never copied or changed; they must outlive the
// evaluator. Errors: a missing train or validation set, validation being the same object as train or
// test, a genotype outside the space, data that do not fit the network, or invalid training settings
// throw archetype::error. A training whose loss becomes non-finite is not an error: the result says
// diverged, with accuracy 0 and (as an evaluation) constraint violation 1.
// A proxy_result converts to search/'s `evaluation` (objectives {validation accuracy}, violation,
// metrics()) by a conversion to any type constructible from (std::vector<double>, double,
// std::map<std::string, double>): estimate/ sits below search/ and cannot name it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "archetype/space/search_space.hpp"
#include "archetype/train/dataset.hpp"
#include "archetype/train/optimizer.hpp"
#include "archetype/train/schedule.hpp"
#include "archetype/train/trainer.hpp"

namespace archetype {

struct proxy_split {
    dataset train;       // train_size samples
    dataset validation;  // validation_size samples, none of them in train
    std::vector<std::size_t> train_indices, validation_indices;  // positions in the source set, ascending
};

// Two disjoint parts of a training set, chosen by a seeded shuffle.
inline proxy_split split_training_set(const dataset& training_set, std::size_t train_size,
                                      std::size_t validation_size, seed s) {
    if (train_size == 0 || validation_size == 0)
        throw error("split_training_set: train_size and validation_size must both be at least 1 (got " +
                    std::to_string(train_size) + " and " + std::to_string(validation_size) + ")");
    if (train_size > training_set.size() || validation_size > training_set.size() - train_size)
        throw error("split_training_set: " + std::to_string(train_size) + " training + " +
                    std::to_string(validation_size) + " validation samples do not fit in a set of " +
                    std::to_string(training_set.size()) + "; ask for fewer");
    std::vector<std::size_t> order(training_set.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    rng(s).shuffle(order.begin(), order.end());
    proxy_split r;
    r.validation_indices.assign(order.begin(), order.begin() + std::ptrdiff_t(validation_size));
    r.train_indices.assign(order.begin() + std::ptrdiff_t(validation_size),
                           order.begin() + std::ptrdiff_t(validation_size + train_size));
    std::sort(r.validation_indices.begin(), r.validation_indices.end());
    std::sort(r.train_indices.begin(), r.train_indices.end());
    r.train = select_samples(training_set, r.train_indices);
    r.validation = select_samples(training_set, r.validation_indices);
    return r;
}

struct proxy_result {
    double validation_accuracy = 0.0;     // the objective (maximise); 0 when training diverged
    double validation_loss = 0.0;         // mean cross-entropy on the validation set
    double train_loss = 0.0;              // mean training loss of the last epoch (0 without epochs)
    std::size_t params = 0;               // of the genotype's architecture (Space::cost_of)
    std::size_t macs = 0;                 // likewise, per sample
    double seconds = 0.0;                 // wall time of the evaluation
    std::optional<double> test_accuracy;  // when a test set is given: reported, never selected on
    bool diverged = false;                // the training loss became non-finite

    // Everything but the objective and the wall time, by name (losses only when training did not
    // diverge), so that equal settings give equal evaluations (drivers log the time themselves).
    std::map<std::string, double> metrics() const {
        std::map<std::string, double> m{{"params", double(params)}, {"macs", double(macs)}};
        if (diverged) {
            m["diverged"] = 1.0;
        } else {
            m["validation_loss"] = validation_loss;
            m["train_loss"] = train_loss;
        }
        if (test_accuracy) m["test_accuracy"] = *test_accuracy;
        return m;
    }

    // As search/'s evaluation: objectives {validation accuracy}, violation 1 when diverged, metrics().
    template <class Evaluation>
        requires std::is_constructible_v<Evaluation, std::vector<double>, double, std::map<std::string, double>>
    operator Evaluation() const {  // NOLINT: implicit on purpose, so that strategies take it as is
        return Evaluation(std::vector<double>{validation_accuracy}, diverged ? 1.0 : 0.0, metrics());
    }
};

template <class Space, class Opt = sgd>
struct proxy_training {
    using space_type = Space;
    using genotype = typename Space::genotype;
    using network_type = typename Space::network_type;

    const dataset* train = nullptr;       // the training subset
    const dataset* validation = nullptr;  // held out of the training set (split_training_set)
    int epochs = 1;
    std::size_t batch_size = 64;
    Opt optimizer{};                      // settings; each evaluation trains with a fresh copy
    archetype::seed seed{0};              // with the genotype, determines initialisation and shuffling
    schedule lr_schedule = schedule::constant();
    const dataset* test = nullptr;        // optional: test accuracy as an extra metric
    std::size_t eval_batch_size = 256;
    thread_pool* pool = nullptr;          // kernels' pool (null: serial); not shared by concurrent calls

    proxy_result operator()(const genotype& g) const { return evaluate(g); }

    proxy_result evaluate(const genotype& g) const {
        const auto start = std::chrono::steady_clock::now();
        check_settings();
        Space::validate(g);
        rng r = stream_of(g);
        const archetype::seed init{r()}, shuffle{r()};
        network_type net{init, pool};
        Space::apply(net, g);
        Opt opt = optimizer;
        opt.reset();
        train_options o;
        o.epochs = epochs;
        o.batch_size = batch_size;
        o.shuffle_seed = shuffle;
        o.lr_schedule = lr_schedule;
        proxy_result res;
        const cost c = Space::cost_of(g);
        res.params = c.params;
        res.macs = c.macs;
        try {
            const train_report rep = archetype::train(net, *train, opt, o);
            if (!rep.epochs.empty()) res.train_loss = rep.epochs.back().train_loss;
            const eval_result v = archetype::evaluate(net, *validation, eval_batch_size);
            res.validation_accuracy = v.accuracy;
            res.validation_loss = v.loss;
            if (test) res.test_accuracy = archetype::evaluate(net, *test, eval_batch_size).accuracy;
        } catch (const error& e) {  // a non-finite loss (training or evaluation) is a result, not an error
            if (std::string(e.what()).find("is not finite") == std::string::npos) throw;
            res = proxy_result{};
            res.params = c.params;
            res.macs = c.macs;
            res.diverged = true;
        }
        res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return res;
    }

    // The random stream of genotype g: a function of (seed, g) only.
    rng stream_of(const genotype& g) const {
        rng r(seed);
        for (std::size_t i = 0; i < g.size(); ++i) r = r.split(g[i]);
        return r;
    }

private:
    void check_settings() const {
        if (!train || !validation)
            throw error("proxy_training: set both .train and .validation (held out of the training set with "
                        "split_training_set)");
        if (validation == train)
            throw error("proxy_training: .validation is the training set itself; hold out a disjoint part of the "
                        "training set with split_training_set");
        if (validation == test)
            throw error("proxy_training: .validation is the test set; select on a part held out of the training "
                        "set (split_training_set) and give the test set only as .test");
        if (epochs < 0) throw error("proxy_training: .epochs = " + std::to_string(epochs) + " is negative");
        detail::check_data_fits<network_type>(*validation, "proxy_training (validation set)");
        if (test) detail::check_data_fits<network_type>(*test, "proxy_training (test set)");
    }
};

}  // namespace archetype
