// archetype/search/successive_halving.hpp — successive halving (Jamieson & Talwalkar 2016; the inner loop
// of Hyperband, Li et al. 2017): multi-fidelity selection among a fixed list of candidates.
//
// Contract: successive_halving(n, options, evaluate) runs rungs 0 … R−1 (R = options.budgets.size()).
// Rung 0 evaluates all n candidates; after each rung but the last the best ⌈m/eta⌉ of its m candidates
// (at least 1) go on to the next. evaluate(halving_step) returns the candidate's score at that rung's
// budget (higher is better; NaN ranks below every number). The budget is the caller's unit — typically
// the epochs a candidate has been trained for by the end of the rung, so an evaluator that keeps each
// candidate's training between rungs continues it by budgets[rung] − budgets[rung − 1] (see
// train_options::first_epoch) and the whole selection costs little more than the survivors' trainings.
// Ranking: score descending, ties broken by the lower candidate index, so the result is a function of
// the scores alone; with options.tie_margin > 0, the candidates within the margin of the rung's best come
// first, by options.preference descending (then score, then index). With options.threads > 1 the candidates of a rung are evaluated concurrently, one
// per thread, taken in the order of options.cost (largest first; index order without it), and each
// step says how many threads its evaluation may use (threads / candidates of the rung, at least 1:
// the last rung's single survivor gets all). evaluate must be safe to call concurrently for distinct
// candidates; the result does not depend on the thread count when the scores do not. An exception from
// evaluate is rethrown after the rung's running evaluations finish. Errors (archetype::error): no
// candidates, no rungs, budgets not strictly increasing, eta ≤ 1, a cost list of the wrong length.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "archetype/core/error.hpp"
#include "archetype/core/thread_pool.hpp"

namespace archetype {

struct halving_options {
    std::vector<double> budgets;  // resource at the end of each rung, strictly increasing
    double eta = 3.0;             // keep ⌈m/eta⌉ of a rung's m candidates
    std::size_t threads = 1;      // evaluations running at once
    std::vector<double> cost{};   // optional, per candidate: relative cost, to start the dearest first
    // Noisy scores: a rung's candidates scoring within tie_margin of its best form its top tier, ranked
    // by `preference` (per candidate, larger first; e.g. capacity), then by score; the rest follow by
    // score. 0 (the default): plain ranking by score. Needs `preference` when above 0.
    double tie_margin = 0.0;
    std::vector<double> preference{};
};

struct halving_step {
    std::size_t candidate = 0;
    std::size_t rung = 0;
    double budget = 0.0;           // options.budgets[rung]
    double previous_budget = 0.0;  // options.budgets[rung − 1], 0 at rung 0
    std::size_t threads = 1;       // threads this evaluation may use
};

struct halving_result {
    std::vector<std::vector<std::size_t>> rungs;  // rungs[k]: the candidates evaluated at rung k, best first
    std::vector<std::vector<double>> scores;      // scores[c]: c's score at each rung it reached
    std::size_t winner = 0;                       // rungs.back().front()
};

// Rung budgets max/eta^(count−1), …, max/eta, max: the geometric ladder of Hyperband's brackets.
inline std::vector<double> geometric_budgets(double max, std::size_t count, double eta) {
    if (!(max > 0) || count == 0 || !(eta > 1))
        throw error("geometric_budgets: need max > 0, count >= 1 and eta > 1 (got " + std::to_string(max) + ", " +
                    std::to_string(count) + ", " + std::to_string(eta) + ")");
    std::vector<double> b(count);
    for (std::size_t k = 0; k < count; ++k) b[k] = max / std::pow(eta, double(count - 1 - k));
    return b;
}

// Candidates of a rung of n that go on to the next: ⌈n/eta⌉, at least 1.
inline std::size_t halving_survivors(std::size_t n, double eta) {
    return std::max<std::size_t>(1, std::size_t(std::ceil(double(n) / eta - 1e-9)));
}

// Candidates reaching each rung of n: n, ⌈n/eta⌉, ⌈⌈n/eta⌉/eta⌉, … (at least 1).
inline std::vector<std::size_t> halving_rung_sizes(std::size_t n, std::size_t rungs, double eta) {
    std::vector<std::size_t> sizes;
    for (std::size_t k = 0; k < rungs; ++k, n = halving_survivors(n, eta)) sizes.push_back(n);
    return sizes;
}

template <class Evaluate>
halving_result successive_halving(std::size_t candidates, const halving_options& o, Evaluate&& evaluate) {
    const std::string who = "successive_halving: ";
    if (candidates == 0) throw error(who + "no candidates; pass at least one");
    if (o.budgets.empty()) throw error(who + "no rungs; give options.budgets at least one budget");
    for (std::size_t k = 1; k < o.budgets.size(); ++k)
        if (!(o.budgets[k] > o.budgets[k - 1]))
            throw error(who + "budgets must increase strictly from rung to rung (rung " + std::to_string(k) +
                        ": " + std::to_string(o.budgets[k]) + " after " + std::to_string(o.budgets[k - 1]) + ")");
    if (!(o.eta > 1)) throw error(who + "eta = " + std::to_string(o.eta) + " must be above 1 (3 is usual)");
    if (!o.cost.empty() && o.cost.size() != candidates)
        throw error(who + "options.cost has " + std::to_string(o.cost.size()) + " entries for " +
                    std::to_string(candidates) + " candidates; give one per candidate or none");
    if (!(o.tie_margin >= 0))
        throw error(who + "tie_margin = " + std::to_string(o.tie_margin) + " must be >= 0 (0: rank by score)");
    if (o.tie_margin > 0 && o.preference.size() != candidates)
        throw error(who + "tie_margin > 0 ranks near-ties by options.preference, which has " +
                    std::to_string(o.preference.size()) + " entries for " + std::to_string(candidates) +
                    " candidates; give one per candidate");
    const std::size_t threads = std::max<std::size_t>(1, o.threads);
    const std::vector<std::size_t> sizes = halving_rung_sizes(candidates, o.budgets.size(), o.eta);
    halving_result r;
    r.scores.resize(candidates);
    std::vector<std::size_t> alive(candidates);
    std::iota(alive.begin(), alive.end(), std::size_t(0));
    thread_pool pool(threads);
    for (std::size_t k = 0; k < o.budgets.size(); ++k) {
        alive.resize(std::min(alive.size(), sizes[k]));  // the best of the previous rung, already ranked
        std::vector<std::size_t> order = alive;            // dearest first when costs are known
        if (!o.cost.empty())
            std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return o.cost[a] > o.cost[b]; });
        std::vector<double> score(alive.size());
        const std::size_t running = std::min(threads, alive.size());
        const std::size_t each = std::max<std::size_t>(1, threads / alive.size());
        std::atomic<std::size_t> next{0};
        pool.parallel_for(running, [&](std::size_t) {
            for (std::size_t j; (j = next.fetch_add(1)) < order.size();) {
                const std::size_t c = order[j];
                const double s = evaluate(halving_step{.candidate = c, .rung = k, .budget = o.budgets[k],
                                                       .previous_budget = k ? o.budgets[k - 1] : 0.0,
                                                       .threads = each});
                score[std::size_t(std::find(alive.begin(), alive.end(), c) - alive.begin())] = s;
            }
        });
        for (std::size_t i = 0; i < alive.size(); ++i) r.scores[alive[i]].push_back(score[i]);
        auto key = [&](std::size_t c) {
            const double s = r.scores[c].back();
            return std::isnan(s) ? -std::numeric_limits<double>::infinity() : s;
        };
        double best = -std::numeric_limits<double>::infinity();
        for (std::size_t c : alive) best = std::max(best, key(c));
        auto top = [&](std::size_t c) { return o.tie_margin > 0 && key(c) >= best - o.tie_margin; };
        std::stable_sort(alive.begin(), alive.end(), [&](auto a, auto b) {
            if (top(a) != top(b)) return top(a);
            if (top(a) && o.preference[a] != o.preference[b]) return o.preference[a] > o.preference[b];
            return key(a) > key(b) || (key(a) == key(b) && a < b);
        });
        r.rungs.push_back(alive);
    }
    r.winner = r.rungs.back().front();
    return r;
}

}  // namespace archetype
