// archetype/compress/pruning_schedule.hpp — when to prune and to which sparsity: one-shot, iterative and
// automated gradual pruning (AGP, Zhu & Gupta 2017).
//
// Contract: a sparsity_schedule maps an optimizer step t (0, 1, 2, ...: the number of steps taken before
// it) to a target sparsity, and says at which steps the mask is recomputed (updates_at(t)):
//   one_shot(s, at)                     one update at step `at` to s.
//   iterative(s_f, k, start, every)     k updates at start, start + every, ..., start + (k − 1)·every; the
//                                       j-th (j = 1..k) prunes to s_f · j / k (k steps of equal increments).
//   gradual(s_i, s_f, t0, n, dt)        AGP: updates at t = t0 + j·dt, j = 0..n, to
//                                       s_t = s_f + (s_i − s_f)(1 − (t − t0)/(n·dt))³.
// sparsity(t) is the target in force at step t: the value of the last update at or before t (so it
// changes only every `every` / dt steps); before the first update it is the first target's start
// (0 for one-shot and iterative, s_i for AGP), after the last one the final target: t is clamped to the
// schedule's span. Invalid arguments throw archetype::error naming the argument: sparsities outside
// [0, 1), s_i > s_f (pruning never revives weights), k, every, n or dt equal to 0.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "archetype/core/error.hpp"

namespace archetype::pruning {

class sparsity_schedule {
public:
    static sparsity_schedule one_shot(double sparsity, std::size_t at = 0) {
        check_fraction("one_shot", "sparsity", sparsity);
        return sparsity_schedule(kind::steps, 0.0, sparsity, at, 1, 1);
    }

    static sparsity_schedule iterative(double final_sparsity, std::size_t k, std::size_t start = 0,
                                       std::size_t every = 1) {
        check_fraction("iterative", "final sparsity", final_sparsity);
        check_positive("iterative", "k (the number of pruning steps)", k);
        check_positive("iterative", "every (steps between prunings)", every);
        return sparsity_schedule(kind::steps, 0.0, final_sparsity, start, k, every);
    }

    static sparsity_schedule gradual(double initial_sparsity, double final_sparsity, std::size_t t0, std::size_t n,
                                     std::size_t dt) {
        check_fraction("gradual", "initial sparsity s_i", initial_sparsity);
        check_fraction("gradual", "final sparsity s_f", final_sparsity);
        if (initial_sparsity > final_sparsity)
            throw error("pruning schedule gradual: initial sparsity " + std::to_string(initial_sparsity) +
                        " exceeds the final sparsity " + std::to_string(final_sparsity) +
                        "; pruned weights are never revived, so s_i must be <= s_f");
        check_positive("gradual", "n (the number of pruning intervals)", n);
        check_positive("gradual", "dt (steps between prunings)", dt);
        return sparsity_schedule(kind::agp, initial_sparsity, final_sparsity, t0, n, dt);
    }

    // Whether the mask is recomputed at step t.
    bool updates_at(std::size_t t) const {
        if (t < start_ || (t - start_) % every_ != 0) return false;
        const std::size_t j = (t - start_) / every_;
        return kind_ == kind::agp ? j <= count_ : j < count_;
    }

    // The target in force at step t (see the header comment).
    double sparsity(std::size_t t) const {
        if (kind_ == kind::agp) {
            if (t < start_) return initial_;
            const std::size_t j = std::min((t - start_) / every_, count_);
            const double r = 1.0 - double(j) / double(count_);
            return final_ + (initial_ - final_) * r * r * r;
        }
        if (t < start_) return 0.0;
        const std::size_t j = std::min((t - start_) / every_ + 1, count_);
        return final_ * double(j) / double(count_);
    }

    // The step of the last update.
    std::size_t last_update() const { return start_ + (kind_ == kind::agp ? count_ : count_ - 1) * every_; }
    double final_sparsity() const { return final_; }

private:
    enum class kind { steps, agp };
    sparsity_schedule(kind k, double initial, double final, std::size_t start, std::size_t count, std::size_t every)
        : kind_(k), initial_(initial), final_(final), start_(start), count_(count), every_(every) {}

    static void check_fraction(const char* who, const char* what, double s) {
        if (!(s >= 0.0 && s < 1.0))
            throw error(std::string("pruning schedule ") + who + ": " + what + " " + std::to_string(s) +
                        " is outside [0, 1); give the fraction of weights to prune, e.g. 0.8");
    }
    static void check_positive(const char* who, const char* what, std::size_t v) {
        if (v == 0) throw error(std::string("pruning schedule ") + who + ": " + what + " is 0; it must be at least 1");
    }

    kind kind_;
    double initial_, final_;
    std::size_t start_, count_, every_;
};

}  // namespace archetype::pruning
