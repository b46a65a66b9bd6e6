// archetype/train/optimizer.hpp — SGD (momentum, Nesterov), Adam and AdamW over flat parameter spans.
//
// Contract: an optimizer is an aggregate of its hyperparameters, written with designated initialisers
// (`sgd{.lr = 0.1f, .momentum = 0.9f}`), plus its `state` (step count and buffers), which it allocates
// on the first step and which a checkpoint may save and restore. step(params, grads, lr) updates params
// in place from grads (network::params() / grads()), using `lr` for this step (a schedule's value);
// step(params, grads) uses the optimizer's own .lr; step(params, grads, lr, pool) spreads the update over
// the pool's threads when there are enough parameters (at least optimizer_parallel_min floats: fixed
// blocks of optimizer_block floats, each updated by one thread; a null pool runs serially). The updates are those of PyTorch 1.13:
//   sgd   (torch.optim.SGD):   g += wd·p; b = g on the first step, else b = μ·b + (1 − τ)·g;
//                              g = nesterov ? g + μ·b : b (when μ ≠ 0); p −= lr·g
//   adam  (torch.optim.Adam):  g += wd·p (L2); m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
//                              p −= lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
//   adamw (torch.optim.AdamW): p *= 1 − lr·wd (decoupled), then Adam without the L2 term.
// One optimizer serves one parameter vector: a step with a different number of parameters than its
// state holds throws archetype::error (use a fresh optimizer, or reset()). Invalid hyperparameters
// (negative lr, β outside [0, 1), Nesterov without momentum or with dampening, ...) throw too.
// Updates are element-wise and every element takes the same code whatever the thread count (the blocks
// are fixed), so results do not depend on threading.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "archetype/core/aligned_buffer.hpp"
#include "archetype/core/error.hpp"
#include "archetype/core/thread_pool.hpp"

namespace archetype {

// What an optimizer carries from step to step; everything a checkpoint needs besides the hyperparameters.
struct optimizer_state {
    std::uint64_t steps = 0;       // completed steps
    aligned_buffer<float> first;   // sgd: momentum buffer (empty until the first step with momentum); adam: m
    aligned_buffer<float> second;  // adam: v; sgd: empty
};

namespace detail {

inline void check_spans(const char* who, std::size_t params, std::size_t grads) {
    if (params != grads)
        throw error(std::string(who) + " step: " + std::to_string(params) + " parameters but " +
                    std::to_string(grads) + " gradients; pass net.params() and net.grads() of the same network");
}

// Allocates a zeroed buffer on first use; afterwards insists on the same size.
inline void ensure_buffer(const char* who, aligned_buffer<float>& b, std::size_t n, std::uint64_t steps) {
    if (b.size() == n) return;
    if (b.size() != 0)
        throw error(std::string(who) + " step: the optimizer's state was made for " + std::to_string(b.size()) +
                    " parameters (after " + std::to_string(steps) + " steps) but this step has " +
                    std::to_string(n) + "; use one optimizer per network, or call reset() first");
    b.resize(n);
}

// Parameters per block of a threaded step, and the fewest parameters for which a step uses the pool (a
// parallel_for costs a few microseconds; an SGD step on 16 Ki floats takes about as long).
inline constexpr std::size_t optimizer_block = 4096;
inline constexpr std::size_t optimizer_parallel_min = 16384;

// Calls f(begin, end) on fixed blocks of [0, n): the whole range when n < optimizer_parallel_min,
// otherwise blocks of optimizer_block spread over the pool (null pool: in order on this thread).
template <class F>
void for_blocks(thread_pool* pool, std::size_t n, F&& f) {
    if (n < optimizer_parallel_min) {
        f(std::size_t(0), n);
        return;
    }
    const std::size_t blocks = (n + optimizer_block - 1) / optimizer_block;
    parallel_for(pool && pool->threads() > 1 ? pool : nullptr, blocks, [&](std::size_t b) {
        f(b * optimizer_block, std::min(n, (b + 1) * optimizer_block));
    });
}

inline void check_non_negative(const char* who, const char* name, float v) {
    if (!(v >= 0.0f))
        throw error(std::string(who) + ": ." + name + " = " + std::to_string(v) + " is invalid; it must be >= 0");
}

}  // namespace detail

// Adam and AdamW share one implementation; use the names `adam` and `adamw` below.
template <bool Decoupled>
struct adam_family {
    float lr = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = Decoupled ? 1e-2f : 0.0f;
    optimizer_state state{};

    static constexpr const char* name = Decoupled ? "adamw" : "adam";

    void reset() { state = {}; }
    void step(std::span<float> params, std::span<const float> grads) { step(params, grads, lr); }

    void step(std::span<float> params, std::span<const float> grads, float step_lr, thread_pool* pool = nullptr) {
        detail::check_spans(name, params.size(), grads.size());
        detail::check_non_negative(name, "lr", step_lr);
        detail::check_non_negative(name, "eps", eps);
        detail::check_non_negative(name, "weight_decay", weight_decay);
        if (!(beta1 >= 0.0f && beta1 < 1.0f) || !(beta2 >= 0.0f && beta2 < 1.0f))
            throw error(std::string(name) + ": .beta1 = " + std::to_string(beta1) + " and .beta2 = " +
                        std::to_string(beta2) + " must both lie in [0, 1)");
        detail::ensure_buffer(name, state.first, params.size(), state.steps);
        detail::ensure_buffer(name, state.second, params.size(), state.steps);
        const std::uint64_t t = ++state.steps;
        // As PyTorch: the bias corrections and step size in double, applied to float tensors.
        const double bc1 = 1.0 - std::pow(double(beta1), double(t));
        const double bc2 = 1.0 - std::pow(double(beta2), double(t));
        const auto step_size = float(double(step_lr) / bc1);
        const auto bc2_sqrt = float(std::sqrt(bc2));
        const auto decay = float(1.0 - double(step_lr) * double(weight_decay));
        float* m = state.first.data();
        float* v = state.second.data();
        float* p = params.data();
        const float* gr = grads.data();
        const float b1 = beta1, b2 = beta2, e = eps, wd = weight_decay;
        detail::for_blocks(pool, params.size(), [=](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) {
                float g = gr[i];
                if constexpr (Decoupled) {
                    p[i] *= decay;
                } else {
                    g += wd * p[i];
                }
                m[i] = b1 * m[i] + (1.0f - b1) * g;
                v[i] = b2 * v[i] + (1.0f - b2) * g * g;
                const float denom = std::sqrt(v[i]) / bc2_sqrt + e;
                p[i] -= step_size * (m[i] / denom);
            }
        });
    }
};

struct sgd {
    float lr = 0.01f;
    float momentum = 0.0f;
    float dampening = 0.0f;
    float weight_decay = 0.0f;
    bool nesterov = false;
    optimizer_state state{};

    static constexpr const char* name = "sgd";

    void reset() { state = {}; }
    void step(std::span<float> params, std::span<const float> grads) { step(params, grads, lr); }

    void step(std::span<float> params, std::span<const float> grads, float step_lr, thread_pool* pool = nullptr) {
        detail::check_spans(name, params.size(), grads.size());
        detail::check_non_negative(name, "lr", step_lr);
        detail::check_non_negative(name, "momentum", momentum);
        detail::check_non_negative(name, "weight_decay", weight_decay);
        if (nesterov && (momentum <= 0.0f || dampening != 0.0f))
            throw error("sgd: Nesterov momentum needs .momentum > 0 and .dampening = 0 (got momentum " +
                        std::to_string(momentum) + ", dampening " + std::to_string(dampening) + ")");
        const bool first_step = state.first.size() == 0;
        if (momentum != 0.0f) detail::ensure_buffer(name, state.first, params.size(), state.steps);
        ++state.steps;
        float* b_ = state.first.data();
        float* p_ = params.data();
        const float* gr_ = grads.data();
        const float mu = momentum, keep = 1.0f - dampening, wd = weight_decay, lr_ = step_lr;
        // One loop per case (the same arithmetic as the general form), so each vectorizes.
        detail::for_blocks(pool, params.size(), [=, nesterov = nesterov](std::size_t begin, std::size_t end) {
            float* __restrict p = p_;
            float* __restrict b = b_;
            const float* __restrict gr = gr_;
            if (mu == 0.0f) {
                if (wd == 0.0f) {
                    for (std::size_t i = begin; i < end; ++i) p[i] -= lr_ * gr[i];
                } else {
                    for (std::size_t i = begin; i < end; ++i) p[i] -= lr_ * (gr[i] + wd * p[i]);
                }
            } else if (first_step) {
                for (std::size_t i = begin; i < end; ++i) {
                    const float g = wd == 0.0f ? gr[i] : gr[i] + wd * p[i];
                    b[i] = g;
                    p[i] -= lr_ * (nesterov ? g + mu * g : g);
                }
            } else if (!nesterov && wd == 0.0f) {  // the common case: plain momentum
                for (std::size_t i = begin; i < end; ++i) {
                    b[i] = mu * b[i] + keep * gr[i];
                    p[i] -= lr_ * b[i];
                }
            } else {
                for (std::size_t i = begin; i < end; ++i) {
                    const float g = wd == 0.0f ? gr[i] : gr[i] + wd * p[i];
                    b[i] = mu * b[i] + keep * g;
                    p[i] -= lr_ * (nesterov ? g + mu * b[i] : b[i]);
                }
            }
        });
    }
};

// torch.optim.Adam: weight decay is an L2 term added to the gradient (default 0).
using adam = adam_family<false>;
// torch.optim.AdamW: weight decay is decoupled, p *= 1 − lr·wd (default 0.01).
using adamw = adam_family<true>;

}  // namespace archetype
