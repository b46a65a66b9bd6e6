// archetype/graph/network.hpp — `network<In, Body>`: a runnable network with its own weights.
//
// Contract: owns the arenas (parameters, gradients, state, workspace) of Body bound to the sample
// shape In. forward(xt::xtensor<float, 4>) runs inference (batch norm in inference mode) and checks
// the batch's sample shape at run time, throwing archetype::error on a mismatch. The raw interface
// (forward_raw / backward_raw) is what trainers use: it keeps the activations of the last forward, and
// the caller keeps x alive until the matching backward. Gradients accumulate until zero_grad().
// The same seed gives the same weights; results do not depend on the pool's thread count.
#pragma once

#include <span>
#include <string>
#include <type_traits>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include "archetype/layers/layer.hpp"

namespace archetype {

template <shape In, class Body>
class network {
public:
    using body = Body;
    using op = typename Body::template op<In>;
    static constexpr shape input_shape = In;
    static constexpr shape output_shape = op::out;
    static constexpr cost total_cost = Body::cost_of(In);
    static constexpr std::size_t param_count = op::param_count;
    static constexpr std::size_t state_count = op::state_count;
    using output_tensor =
        std::conditional_t<output_shape.flat(), xt::xtensor<float, 2>, xt::xtensor<float, 4>>;

    explicit network(seed s = {}, thread_pool* pool = nullptr)
        : w_(param_count), dw_(param_count), state_(state_count), pool_(pool) {
        initialize(s);
    }

    static std::string spelling() {
        return "archetype::network<archetype::shape{" + std::to_string(In.c) + ", " + std::to_string(In.h) +
               ", " + std::to_string(In.w) + "}, " + Body::spelling() + ">";
    }

    // Fresh PyTorch-default weights and state drawn from `s`.
    void initialize(seed s) {
        rng g(s);
        w_.fill(0.0f);
        state_.fill(0.0f);
        op::init(w_.data(), state_.data(), g);
        zero_grad();
    }

    void set_pool(thread_pool* pool) { pool_ = pool; }
    // Every leaf layer's output is shown to `observer` during forward (null: none).
    void set_observer(forward_observer* observer) { observer_ = observer; }
    forward_observer* observer() const { return observer_; }
    thread_pool* pool() const { return pool_; }

    // Inference on a batch [N][C][H][W].
    output_tensor forward(const xt::xtensor<float, 4>& x) {
        const auto& sh = x.shape();
        if (sh[1] != std::size_t(In.c) || sh[2] != std::size_t(In.h) || sh[3] != std::size_t(In.w))
            throw error("network input: expected samples of shape " + In.str() + " (C, H, W) but got {" +
                        std::to_string(sh[1]) + ", " + std::to_string(sh[2]) + ", " + std::to_string(sh[3]) +
                        "}; reshape the batch to [N][" + std::to_string(In.c) + "][" + std::to_string(In.h) +
                        "][" + std::to_string(In.w) + "] or declare the network with the data's shape");
        const std::size_t n = sh[0];
        const float* y = forward_raw(x.data(), n, false);
        output_tensor out;
        if constexpr (output_shape.flat()) {
            out = xt::xtensor<float, 2>::from_shape({n, output_shape.size()});
        } else {
            out = xt::xtensor<float, 4>::from_shape(
                {n, std::size_t(output_shape.c), std::size_t(output_shape.h), std::size_t(output_shape.w)});
        }
        std::copy(y, y + n * output_shape.size(), out.data());
        return out;
    }

    // Runs `batch` samples stored contiguously at x; returns the output (valid until the next call).
    const float* forward_raw(const float* x, std::size_t batch, bool training) {
        if (batch == 0) throw error("network forward: the batch is empty; pass at least one sample");
        ctx_ = context{batch, training, pool_, observer_};
        reserve(batch);
        last_x_ = x;
        op::forward(ctx_, arena(), x, y_.data());
        observe<op>(ctx_, y_.data());
        return y_.data();
    }

    // Backward through the last forward_raw: dy has that call's batch × output size values. Adds
    // parameter gradients into grads(); writes the input gradient to dx when it is not null.
    void backward_raw(const float* dy, float* dx = nullptr) {
        if (!last_x_) throw error("network backward: call forward_raw (training) before backward_raw");
        op::backward(ctx_, arena(), last_x_, y_.data(), dy, dx);
    }

    void zero_grad() { dw_.fill(0.0f); }

    std::span<float> params() { return w_.span(); }
    std::span<const float> params() const { return w_.span(); }
    std::span<float> grads() { return dw_.span(); }
    std::span<float> state() { return state_.span(); }
    std::span<const float> state() const { return state_.span(); }

private:
    slots arena() { return {w_.data(), dw_.data(), state_.data(), work_.data()}; }
    void reserve(std::size_t batch) {
        if (batch > capacity_) {
            work_.resize(op::work_size(batch));
            y_.resize(batch * output_shape.size());
            capacity_ = batch;
        }
    }

    aligned_buffer<float> w_, dw_, state_, work_, y_;
    thread_pool* pool_ = nullptr;
    forward_observer* observer_ = nullptr;
    context ctx_{};
    const float* last_x_ = nullptr;
    std::size_t capacity_ = 0;
};

template <class Net>
inline constexpr std::size_t params_v = Net::total_cost.params;
template <class Net>
inline constexpr std::size_t macs_v = Net::total_cost.macs;
// Bytes of all layer outputs of one sample (what training keeps for backward), fp32.
template <class Net>
inline constexpr std::size_t activation_bytes_v = Net::total_cost.activations * sizeof(float);

}  // namespace archetype
