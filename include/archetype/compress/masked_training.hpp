// archetype/compress/masked_training.hpp — training with a pruning mask that holds: masked weights stay
// exactly zero and receive no update, whatever the optimizer (momentum, Adam, weight decay).
//
// Contract: masked_optimizer<Opt>{inner, mask} is an optimizer for archetype::train (it has `lr`, copied
// from inner.lr, and step(params, grads, lr)). Each step t (counting from 0 in `steps`):
//   1. when a schedule was set with prune_with<Policy>(schedule, leaves) and schedule.updates_at(t):
//      prune<Policy>(params, mask, schedule.sparsity(t), leaves) recomputes the mask from the weights;
//   2. the masked gradients are set to 0 (in place: grads is the network's gradient arena, which the
//      trainer zeroes before every backward anyway);
//   3. inner.step(params, grads, lr);
//   4. the masked weights are set to +0.0f, undoing what momentum, Adam's moments or weight decay moved.
// So a masked weight is bit-exact 0 after every step, and a weight's update never sees masked ones.
// Construction applies the mask to nothing: call mask.apply(net) (or prune<...>(net, ...)) first if the
// network should start pruned; step 4 does it at the first step anyway. Sizes are checked on every step
// (archetype::error naming both sizes).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "archetype/compress/pruning_mask.hpp"
#include "archetype/compress/pruning_policies.hpp"
#include "archetype/compress/pruning_schedule.hpp"

namespace archetype::pruning {

template <class Opt>
class masked_optimizer {
public:
    Opt inner;
    pruning::mask mask;
    float lr;               // what train() reads as the base learning rate (inner.lr at construction)
    std::size_t steps = 0;  // steps taken
    static constexpr const char* name = "masked_optimizer";

    masked_optimizer(Opt opt, pruning::mask m) : inner(std::move(opt)), mask(std::move(m)), lr(inner.lr) {}

    // Re-prune with Policy following `schedule` (layers at `leaves`; empty: every prunable layer).
    template <class Policy>
    masked_optimizer& prune_with(sparsity_schedule schedule, std::vector<std::size_t> leaves = {}) {
        for (std::size_t leaf : leaves) (void)mask.layer_at_leaf(leaf);  // throws now, not mid-training
        schedule_ = schedule;
        leaves_ = std::move(leaves);
        pruner_ = [](std::span<const float> p, pruning::mask& m, double s, std::span<const std::size_t> l) {
            prune<Policy>(p, m, s, l);
        };
        return *this;
    }
    const std::optional<sparsity_schedule>& schedule() const { return schedule_; }

    void reset() {
        inner.reset();
        steps = 0;
    }

    void step(std::span<float> params, std::span<float> grads) { step(params, grads, lr); }

    void step(std::span<float> params, std::span<float> grads, float step_lr) {
        mask.check(params.size(), "masked_optimizer step: the parameters");
        mask.check(grads.size(), "masked_optimizer step: the gradients");
        if (schedule_ && schedule_->updates_at(steps))
            pruner_(std::span<const float>(params), mask, schedule_->sparsity(steps), leaves_);
        mask.apply(grads);
        inner.step(params, std::span<const float>(grads), step_lr);
        mask.apply(params);
        ++steps;
    }

private:
    std::optional<sparsity_schedule> schedule_;
    std::vector<std::size_t> leaves_;
    void (*pruner_)(std::span<const float>, pruning::mask&, double, std::span<const std::size_t>) = nullptr;
};

}  // namespace archetype::pruning
