// archetype/train/schedule.hpp — learning rate per epoch: constant, step and cosine, with optional warmup.
//
// Contract: `schedule::lr(epoch, base_lr)` gives the learning rate of epoch `epoch` (counting from 0) for
// an optimizer whose own lr is base_lr, in closed form (no hidden state, so a resumed run gets the same
// values). The forms follow PyTorch 1.13's schedulers stepped once per epoch:
//   constant()               lr = base                                                     (no scheduler)
//   step(step_size, gamma)   lr = base · gamma^⌊epoch / step_size⌋                          (StepLR)
//   cosine(t_max, eta_min)   lr = eta_min + (base − eta_min) · (1 + cos(π · epoch / t_max)) / 2
//                            (CosineAnnealingLR's closed form; past t_max it rises again as that form
//                            does, so choose t_max = the number of epochs)
//   .with_warmup(w, start)   multiplies the above by start + (1 − start) · min(epoch, w) / w
//                            (LinearLR(start_factor = start, total_iters = w) chained with the above)
// Invalid arguments (step_size or t_max < 1, negative gamma, warmup start outside (0, 1]) throw
// archetype::error when the schedule is made; a negative epoch throws when lr() is asked.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "archetype/core/error.hpp"

namespace archetype {

struct schedule {
    enum class kind { constant, step, cosine };

    kind form = kind::constant;
    int step_size = 1;      // step
    float gamma = 0.1f;     // step
    int t_max = 1;          // cosine
    float eta_min = 0.0f;   // cosine
    int warmup_epochs = 0;  // 0: no warmup
    float warmup_start = 1.0f;

    static schedule constant() { return {}; }

    static schedule step(int step_size, float gamma = 0.1f) {
        if (step_size < 1)
            throw error("schedule::step: step_size = " + std::to_string(step_size) + " must be at least 1 epoch");
        if (!(gamma >= 0.0f))
            throw error("schedule::step: gamma = " + std::to_string(gamma) + " must be >= 0 (e.g. 0.1)");
        schedule s;
        s.form = kind::step;
        s.step_size = step_size;
        s.gamma = gamma;
        return s;
    }

    static schedule cosine(int t_max, float eta_min = 0.0f) {
        if (t_max < 1)
            throw error("schedule::cosine: t_max = " + std::to_string(t_max) +
                        " must be at least 1; use the number of training epochs");
        if (!(eta_min >= 0.0f))
            throw error("schedule::cosine: eta_min = " + std::to_string(eta_min) + " must be >= 0");
        schedule s;
        s.form = kind::cosine;
        s.t_max = t_max;
        s.eta_min = eta_min;
        return s;
    }

    // Linear warmup over the first `epochs` epochs starting at `start` × the scheduled lr.
    schedule with_warmup(int epochs, float start = 1.0f / 3.0f) const {
        if (epochs < 0)
            throw error("schedule::with_warmup: epochs = " + std::to_string(epochs) + " must be >= 0");
        if (!(start > 0.0f && start <= 1.0f))
            throw error("schedule::with_warmup: start = " + std::to_string(start) +
                        " must lie in (0, 1]; it is the fraction of the lr used in the first epoch");
        schedule s = *this;
        s.warmup_epochs = epochs;
        s.warmup_start = start;
        return s;
    }

    float lr(int epoch, float base_lr) const {
        if (epoch < 0)
            throw error("schedule::lr: epoch " + std::to_string(epoch) + " is negative; epochs count from 0");
        double r = base_lr;
        switch (form) {
            case kind::constant: break;
            case kind::step: r *= std::pow(double(gamma), double(epoch / step_size)); break;
            case kind::cosine: {
                constexpr double pi = 3.14159265358979323846;
                r = eta_min + (r - eta_min) * (1.0 + std::cos(pi * double(epoch) / double(t_max))) / 2.0;
                break;
            }
        }
        if (warmup_epochs > 0) {
            const double f = double(std::min(epoch, warmup_epochs)) / double(warmup_epochs);
            r *= warmup_start + (1.0 - warmup_start) * f;
        }
        return float(r);
    }

    // A readable description for logs, e.g. "cosine(t_max=10, eta_min=0) with warmup(2, start=0.333333)".
    std::string describe() const {
        std::string s;
        switch (form) {
            case kind::constant: s = "constant"; break;
            case kind::step: s = "step(step_size=" + std::to_string(step_size) + ", gamma=" + num(gamma) + ")"; break;
            case kind::cosine: s = "cosine(t_max=" + std::to_string(t_max) + ", eta_min=" + num(eta_min) + ")"; break;
        }
        if (warmup_epochs > 0)
            s += " with warmup(" + std::to_string(warmup_epochs) + ", start=" + num(warmup_start) + ")";
        return s;
    }

private:
    static std::string num(float v) {
        char b[32];
        std::snprintf(b, sizeof b, "%g", double(v));
        return b;
    }
};

}  // namespace archetype
