// archetype/search/strategy.hpp — what every search strategy shares: evaluations, the history, and
// the ask/tell protocol with its checkpoint.
//
// Contract: a strategy sees only a Space (its genotype type and sample / mutate / crossover /
// cardinality / from_index) and evaluations; it never knows what an evaluator does. It is a state
// machine: ask() returns the next batch of genotypes to evaluate (empty once done()); the caller
// evaluates them in any way (serially, on a thread pool, from a cache) and tells every result back
// with tell(g, e) in ask order before asking again. The batch size is an option of the strategy, never
// the caller's thread count, so the same seed gives the same history however the batch is evaluated.
// The budget counts tells, cached or not: a cache changes what is computed, never the trajectory.
// lookup(g) returns the first evaluation told for g, so a driver evaluates no genotype twice; run()
// is that driver, serial. An evaluation holds objective values (one per direction of the strategy),
// a constraint violation (> 0 = infeasible; infeasible candidates lose to feasible ones) and extra
// metrics that are recorded but never used for selection. Non-finite objectives or violations, a wrong
// number of objectives, and tells out of ask order are archetype::errors. The whole state is plain
// data (rng words, history, pending batch, strategy-specific index lists): save() writes it as text
// (search/checkpoint_text.hpp), load() restores it so that a resumed search continues exactly as the
// uninterrupted one would (the budget may be changed on resume; the other options must match).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <istream>
#include <map>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "archetype/core/rng.hpp"
#include "archetype/search/checkpoint_text.hpp"
#include "archetype/search/pareto.hpp"

namespace archetype {

struct evaluation {
    evaluation() = default;
    // Implicit on purpose: tell(g, {{accuracy, macs}}).
    evaluation(objective_vector o, double v = 0.0, std::map<std::string, double> m = {})  // NOLINT
        : objectives(std::move(o)), violation(v), metrics(std::move(m)) {}

    objective_vector objectives;
    double violation = 0.0;                 // > 0: infeasible, by that much
    std::map<std::string, double> metrics;  // reported (test accuracy, ...), never selected on
    bool feasible() const { return !(violation > 0); }
};

template <class Genotype>
struct history_entry {
    Genotype genotype;
    evaluation result;
};

// a is better than b on objective k: feasible first, then smaller violation, then the objective.
inline bool better_on(const evaluation& a, const evaluation& b, std::size_t k, direction d) {
    if (a.feasible() != b.feasible()) return a.feasible();
    if (!a.feasible()) return a.violation < b.violation;
    return d == direction::maximize ? a.objectives[k] > b.objectives[k] : a.objectives[k] < b.objectives[k];
}

namespace detail {
template <class G>
std::string genotype_digits(const G& g) {
    std::string s = "[";
    for (std::size_t i = 0; i < g.size(); ++i) s += (i ? " " : "") + std::to_string(g[i]);
    return s + "]";
}
}  // namespace detail

template <class Space>
class strategy {
public:
    using space_type = Space;
    using genotype = typename Space::genotype;
    using entry = history_entry<genotype>;

    virtual ~strategy() = default;

    // The next genotypes to evaluate, at least one unless done(). Tell them all before asking again.
    std::vector<genotype> ask() {
        usable();
        if (told_ < pending_.size())
            throw error(kind_ + ": ask() while " + std::to_string(pending_.size() - told_) +
                        " asked genotype(s) are not told; tell every asked genotype, in ask order, first");
        pending_.clear();
        told_ = 0;
        if (done()) return {};
        pending_ = propose(budget_ - history_.size());
        return pending_;
    }

    void tell(const genotype& g, evaluation e) {
        usable();
        if (told_ >= pending_.size())
            throw error(kind_ + ": tell() of " + detail::genotype_digits(g) +
                        " which was not asked; call ask() and tell its genotypes in order");
        if (g != pending_[told_])
            throw error(kind_ + ": tell() of " + detail::genotype_digits(g) + " but the next asked genotype is " +
                        detail::genotype_digits(pending_[told_]) + "; tell results in ask order");
        check(e);
        first_seen_.emplace(g, history_.size());
        history_.push_back({g, std::move(e)});
        ++told_;
        on_tell(history_.size() - 1);
        if (told_ == pending_.size()) on_batch_told();
    }

    bool done() const { return history_.size() >= budget_; }
    std::size_t budget() const { return budget_; }
    void set_budget(std::size_t b) { budget_ = b; }
    const std::vector<direction>& directions() const { return directions_; }
    const std::vector<entry>& history() const { return history_; }
    std::size_t distinct_genotypes() const { return first_seen_.size(); }

    // The first evaluation told for g, or null (a cache: a driver never evaluates a genotype twice).
    const evaluation* lookup(const genotype& g) const {
        const auto it = first_seen_.find(g);
        return it == first_seen_.end() ? nullptr : &history_[it->second].result;
    }

    // History index of the best entry on objective k (feasible first; the earliest of equals).
    std::size_t best(std::size_t k = 0) const {
        if (history_.empty()) throw error(kind_ + ": best() of an empty history; run or tell first");
        if (k >= directions_.size())
            throw error(kind_ + ": objective " + std::to_string(k) + " does not exist; there are " +
                        std::to_string(directions_.size()));
        std::size_t b = 0;
        for (std::size_t i = 1; i < history_.size(); ++i)
            if (better_on(history_[i].result, history_[b].result, k, directions_[k])) b = i;
        return b;
    }

    // History indices of the constraint-non-dominated entries, each genotype once (its first tell).
    std::vector<std::size_t> pareto_front() const {
        std::vector<std::size_t> idx;
        std::vector<objective_vector> pts;
        std::vector<double> viol;
        for (const auto& [g, i] : first_seen_) idx.push_back(i);
        std::sort(idx.begin(), idx.end());
        for (std::size_t i : idx) {
            pts.push_back(history_[i].result.objectives);
            viol.push_back(history_[i].result.violation);
        }
        std::vector<std::size_t> front;
        for (std::size_t j : non_dominated(pts, directions_, viol)) front.push_back(idx[j]);
        return front;
    }

    // The asked genotypes not told yet (after load(), a driver finishes these before asking again).
    std::vector<genotype> untold() const { return {pending_.begin() + std::ptrdiff_t(told_), pending_.end()}; }

    // Serial driver: finishes the untold batch, then asks, evaluates what the history does not
    // already hold and tells, until done(). `evaluate(g)` returns an evaluation, or a number for a
    // single objective.
    template <class Evaluator>
    const std::vector<entry>& run(Evaluator&& evaluate) {
        usable();
        for (;;) {
            std::vector<genotype> batch = untold();
            if (batch.empty() && done()) break;
            if (batch.empty()) batch = ask();
            for (const genotype& g : batch) {
                if (const evaluation* hit = lookup(g)) {
                    tell(g, *hit);
                } else if constexpr (std::is_arithmetic_v<std::decay_t<decltype(evaluate(g))>>) {
                    tell(g, evaluation{{double(evaluate(g))}});
                } else {
                    tell(g, evaluation(evaluate(g)));
                }
            }
        }
        return history_;
    }

    void save(std::ostream& os) const {
        usable();
        namespace cp = checkpoint;
        os << "archetype-strategy " << kind_ << ' ';
        cp::put(os, genotype{}.size());
        os << "\nrng ";
        for (auto w : rng_.state()) cp::put(os, w);
        os << "\nhistory ";
        cp::put(os, history_.size());
        for (const auto& h : history_) {
            os << '\n';
            cp::put_genotype(os, h.genotype);
            cp::put(os, h.result.objectives.size());
            for (double v : h.result.objectives) cp::put(os, v);
            cp::put(os, h.result.violation);
            cp::put(os, h.result.metrics.size());
            for (const auto& [name, v] : h.result.metrics) cp::put_word(os, name), cp::put(os, v);
        }
        os << "\npending ";
        cp::put(os, pending_.size());
        cp::put(os, told_);
        for (const auto& g : pending_) cp::put_genotype(os, g);
        os << "\n" << kind_ << ' ';
        save_state(os);
        os << "\nend\n";
        if (!os) throw error(kind_ + ": writing the checkpoint failed (disk full or stream closed)");
    }

    // Restores a state written by save() of the same strategy, options and space. If it throws, the
    // strategy refuses further use: construct a new one.
    void load(std::istream& is) {
        namespace cp = checkpoint;
        broken_ = true;
        cp::expect(is, "archetype-strategy");
        cp::expect(is, kind_);
        if (cp::get<std::size_t>(is) != genotype{}.size()) cp::fail("the number of decisions differs from the space's");
        cp::expect(is, "rng");
        std::array<std::uint64_t, 4> words{};
        for (auto& w : words) w = cp::get<std::uint64_t>(is);
        cp::expect(is, "history");
        history_.clear();
        for (auto n = cp::get<std::size_t>(is); n > 0; --n) {
            entry h{get_genotype(is), {}};
            if (cp::get<std::size_t>(is) != directions_.size())
                cp::fail("an entry's number of objectives differs from the strategy's directions");
            h.result.objectives.resize(directions_.size());
            for (double& v : h.result.objectives) v = cp::get<double>(is);
            h.result.violation = cp::get<double>(is);
            for (auto m = cp::get<std::size_t>(is); m > 0; --m) {
                std::string name = cp::get_word(is);
                h.result.metrics[name] = cp::get<double>(is);
            }
            check(h.result);
            history_.push_back(std::move(h));
        }
        cp::expect(is, "pending");
        pending_.clear();
        auto n = cp::get<std::size_t>(is);
        told_ = cp::get<std::size_t>(is);
        for (; n > 0; --n) pending_.push_back(get_genotype(is));
        if (told_ > pending_.size()) cp::fail("more pending genotypes told than asked");
        cp::expect(is, kind_);
        rng_.set_state(words);
        first_seen_.clear();
        for (std::size_t i = 0; i < history_.size(); ++i) first_seen_.emplace(history_[i].genotype, i);
        load_state(is);
        cp::expect(is, "end");
        broken_ = false;
    }

protected:
    strategy(std::string kind, std::vector<direction> dirs, std::size_t budget, seed s)
        : kind_(std::move(kind)), directions_(std::move(dirs)), budget_(budget), rng_(s) {
        if (directions_.empty())
            throw error(kind_ + ": no objective directions; give one per objective, e.g. {direction::maximize}");
    }

    // At least one and at most `room` genotypes to evaluate next.
    virtual std::vector<genotype> propose(std::size_t room) = 0;
    virtual void on_tell(std::size_t /*history_index*/) {}
    virtual void on_batch_told() {}
    virtual void save_state(std::ostream&) const {}
    virtual void load_state(std::istream&) {}

    std::string kind_;
    std::vector<direction> directions_;
    std::size_t budget_;
    rng rng_;
    std::vector<entry> history_;
    std::vector<genotype> pending_;  // the last ask; pending_[0, told_) are told
    std::size_t told_ = 0;

private:
    void usable() const {
        if (broken_) throw error(kind_ + ": a failed load() left this strategy unusable; construct a new one");
    }
    void check(const evaluation& e) const {
        if (e.objectives.size() != directions_.size())
            throw error(kind_ + ": an evaluation has " + std::to_string(e.objectives.size()) + " objectives but " +
                        std::to_string(directions_.size()) + " directions were configured; return one per direction");
        for (double v : e.objectives)
            if (!std::isfinite(v))
                throw error(kind_ + ": an evaluation has objective value " + std::to_string(v) +
                            "; return finite values and report a failed candidate as a constraint violation");
        if (!std::isfinite(e.violation) || e.violation < 0)
            throw error(kind_ + ": an evaluation has constraint violation " + std::to_string(e.violation) +
                        "; it must be finite and >= 0 (0 = feasible)");
    }
    static genotype get_genotype(std::istream& is) {
        genotype g = checkpoint::get_genotype<genotype>(is);
        if constexpr (requires { Space::validate(g); }) {
            try {
                Space::validate(g);
            } catch (const error& e) {
                checkpoint::fail(e.what());
            }
        }
        return g;
    }

    std::map<genotype, std::size_t> first_seen_;  // genotype -> history index of its first tell
    bool broken_ = false;                          // a load() failed half way
};

}  // namespace archetype
