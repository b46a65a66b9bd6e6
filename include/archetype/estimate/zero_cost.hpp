// archetype/estimate/zero_cost.hpp — zero-cost proxies: synflow, snip, grad_norm, nwot, jacob_cov.
//
// Contract: each proxy scores a network at its current weights, without training it, and leaves it as
// it found it: parameters, gradients and state (batch-norm running statistics, choice selectors) are
// restored, also when it throws; nwot puts back the observer the network had. Only the selected alternative of each choice is visited. Definitions follow the
// reference code of Abdelfattah et al. 2021 (SamsungLabs/zero-cost-nas), whose per-weight scores cover
// the .weight of nn.Conv2d and nn.Linear only; here "weights" are likewise the weight tensors of dense
// and convolution leaves (a leaf op declaring `weight_count`), never
// biases, batch-norm γ/β or other parameters.
//   synflow(net)      Σ θ·∂R/∂θ over weights (Tanaka et al. 2020) with every parameter replaced by |θ|,
//                     batch norm bypassed (set to the identity: γ 1, β 0, running mean 0, running var
//                     1 − eps, as the reference's copy whose BN forward is a no-op), inference mode, one
//                     sample of ones as input and R = Σ outputs.
//   snip(net, b)      Σ |θ·∂L/∂θ| over weights (Lee et al. 2019), L the mean cross-entropy of batch b.
//   grad_norm(net, b) Σ over weight tensors of ‖∂L/∂W‖₂ (per-layer norms summed, as the reference).
//   nwot(net, b)      log|det K| (Mellor et al. 2021), K = Σ over relu leaves (spelling "archetype::relu")
//                     of c·cᵀ + (1−c)(1−c)ᵀ, c the samples' binary codes (output > 0); −∞ when K is
//                     singular (as slogdet).
//   jacob_cov(net, b) −Σ_i log(λ_i + k) + 1/(λ_i + k), k = 1e−5, λ the eigenvalues of the correlation
//                     matrix (np.corrcoef) of the samples' input gradients of Σ outputs (one backward
//                     with dy = 1); NaN when a sample's gradient is constant (its correlation is
//                     undefined; the reference returns NaN then).
// The data-driven proxies (snip, grad_norm, nwot, jacob_cov) run batch norm in training mode (batch
// statistics), as the reference scores networks in train mode; b holds b.size samples of the network's
// input shape (and labels in [0, outputs) for snip and grad_norm).
// Precision: forward and backward run in float (the network's kernels); products, sums and the linear
// algebra (LU, Jacobi eigenvalues) in double, in a fixed order, so results are deterministic and do
// not depend on the thread count. synflow's R grows exponentially with depth (the reference runs in
// double for that reason) and overflows float near 3.4e38. synflow therefore (1) scales the backward
// seed dy by a power of two 2^−e so that gradients stay near 1 — exact for every network, backward
// being linear in dy — and (2) when the forward overflows, scales the input and every dense/conv bias
// by 2^−100: exact (every value scales by the same power of two) when the transformed network is
// positively homogeneous, which is checked: every active leaf must be dense, convolution, relu, batch
// norm, a pool, identity, flatten, zero or channel_shuffle, and R(2s) must equal 2·R(s); otherwise, or
// when even the rescaled forward overflows (gain beyond ~2^227), it throws archetype::error. The score
// is returned unscaled, in double.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "archetype/graph/network.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/train/dataset.hpp"
#include "archetype/train/loss.hpp"
#include "archetype/train/trainer.hpp"

namespace archetype {

namespace detail {

// Number of leading parameters of Op that form its weight tensor (0: not a weight layer).
template <class Op>
constexpr std::size_t weight_tensor_size() {
    if constexpr (requires { Op::weight_count; }) {
        return Op::weight_count;
    } else {
        return 0;
    }
}

// An active leaf's place in the network's arenas.
struct proxy_leaf {
    std::size_t w = 0;            // offset of its parameters
    std::size_t weights = 0;      // its weight tensor: parameters [w, w + weights)
    std::size_t params = 0;       // all its parameters: [w, w + params)
    std::size_t s = 0;            // offset of its state
    std::size_t bn_channels = 0;  // > 0: a batch_norm with this many channels
    std::string (*spelling)() = nullptr;
};

// The leaves the current genotype runs (only the selected alternative of each choice).
struct active_leaf_collector {
    const float* state;
    std::vector<proxy_leaf> leaves;

    template <class Op>
    void leaf(std::size_t w, std::size_t s) {
        proxy_leaf l{w, weight_tensor_size<Op>(), Op::param_count, s, 0, &Op::descriptor::spelling};
        if constexpr (std::is_same_v<typename Op::descriptor, batch_norm>) l.bn_channels = Op::channels;
        leaves.push_back(l);
    }
    template <class ChoiceOp>
    long on_choice(std::size_t s) {
        return long(state[s]);
    }
};

template <class Net>
std::vector<proxy_leaf> active_leaves(Net& net) {
    active_leaf_collector c{net.state().data(), {}};
    visit_leaves<typename Net::op>(c);
    return c.leaves;
}

// Copies parameters, gradients and state on construction and puts them back on destruction.
template <class Net>
class network_snapshot {
public:
    explicit network_snapshot(Net& net)
        : net_(net), w_(copy(net.params())), dw_(copy(net.grads())), s_(copy(net.state())) {}
    network_snapshot(const network_snapshot&) = delete;
    network_snapshot& operator=(const network_snapshot&) = delete;
    ~network_snapshot() {
        std::copy(w_.begin(), w_.end(), net_.params().begin());
        std::copy(dw_.begin(), dw_.end(), net_.grads().begin());
        std::copy(s_.begin(), s_.end(), net_.state().begin());
    }
    const std::vector<float>& params() const { return w_; }

private:
    static std::vector<float> copy(std::span<float> v) { return {v.begin(), v.end()}; }
    Net& net_;
    std::vector<float> w_, dw_, s_;
};

inline void check_proxy_batch(const batch& b, const char* who) {
    if (b.size == 0 || b.x == nullptr)
        throw error(std::string(who) + ": the batch is empty; pass at least one sample (two or more for "
                    "networks with batch norm)");
}

// Training-mode forward, mean cross-entropy and backward: the weight gradients ∂L/∂θ in net.grads().
template <class Net>
void loss_gradients(Net& net, const batch& b, const char* who) {
    static_assert(Net::output_shape.flat(), "archetype: snip and grad_norm need a network with flat outputs "
                                            "[N][classes] (end it in dense<classes>)");
    check_proxy_batch(b, who);
    if (b.labels == nullptr) throw error(std::string(who) + ": the batch has no labels; pass labelled samples");
    constexpr std::size_t k = Net::output_shape.size();
    const float* y = net.forward_raw(b.x, b.size, true);
    std::vector<float> dlogits(b.size * k);
    try {
        cross_entropy(y, b.labels, b.size, k, dlogits.data());
    } catch (const error& e) {
        throw error(std::string(who) + ": " + without_prefix(e));
    }
    net.zero_grad();
    net.backward_raw(dlogits.data());
}

// log|det a| of an n×n matrix by LU with partial pivoting (a is overwritten); −∞ when singular.
inline double log_abs_det(std::vector<double> a, std::size_t n) {
    double log_det = 0.0;
    for (std::size_t col = 0; col < n; ++col) {
        std::size_t pivot = col;
        for (std::size_t r = col + 1; r < n; ++r)
            if (std::abs(a[r * n + col]) > std::abs(a[pivot * n + col])) pivot = r;
        if (a[pivot * n + col] == 0.0) return -std::numeric_limits<double>::infinity();
        if (pivot != col)
            for (std::size_t c = 0; c < n; ++c) std::swap(a[pivot * n + c], a[col * n + c]);
        const double d = a[col * n + col];
        log_det += std::log(std::abs(d));
        for (std::size_t r = col + 1; r < n; ++r) {
            const double f = a[r * n + col] / d;
            if (f == 0.0) continue;
            for (std::size_t c = col; c < n; ++c) a[r * n + c] -= f * a[col * n + c];
        }
    }
    return log_det;
}

// Eigenvalues of a symmetric n×n matrix (overwritten) by cyclic Jacobi rotations, in diagonal order.
inline std::vector<double> symmetric_eigenvalues(std::vector<double> a, std::size_t n) {
    auto at = [&](std::size_t r, std::size_t c) -> double& { return a[r * n + c]; };
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0.0, diag = 0.0;
        for (std::size_t p = 0; p < n; ++p) {
            diag += at(p, p) * at(p, p);
            for (std::size_t q = p + 1; q < n; ++q) off += at(p, q) * at(p, q);
        }
        if (off <= 1e-30 * diag || off == 0.0) break;
        for (std::size_t p = 0; p < n; ++p) {
            for (std::size_t q = p + 1; q < n; ++q) {
                if (at(p, q) == 0.0) continue;
                // rotation in the (p, q) plane that zeroes a_pq: t = tan of its angle, the smaller root
                const double theta = (at(q, q) - at(p, p)) / (2.0 * at(p, q));
                const double t = std::abs(theta) > 1e150
                                     ? 0.5 / theta
                                     : std::copysign(1.0, theta) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
                const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
                for (std::size_t k = 0; k < n; ++k) {
                    const double kp = at(k, p), kq = at(k, q);
                    at(k, p) = c * kp - s * kq;
                    at(k, q) = s * kp + c * kq;
                }
                for (std::size_t k = 0; k < n; ++k) {
                    const double pk = at(p, k), qk = at(q, k);
                    at(p, k) = c * pk - s * qk;
                    at(q, k) = s * pk + c * qk;
                }
            }
        }
    }
    std::vector<double> ev(n);
    for (std::size_t i = 0; i < n; ++i) ev[i] = at(i, i);
    return ev;
}

// Whether a leaf stays positively homogeneous under synflow's transformation (see the contract).
inline bool synflow_homogeneous_leaf(const std::string& s) {
    for (const char* exact : {"archetype::relu", "archetype::batch_norm", "archetype::identity", "archetype::flatten",
                              "archetype::zero", "archetype::global_avg_pool"})
        if (s == exact) return true;
    for (const char* prefix : {"archetype::dense<", "archetype::conv2d<", "archetype::depthwise_conv2d<",
                               "archetype::max_pool<", "archetype::avg_pool<", "archetype::channel_shuffle<"})
        if (s.rfind(prefix, 0) == 0) return true;
    return false;
}

// Receives relu outputs during a forward and adds their code agreements to K.
struct relu_code_kernel : forward_observer {
    std::size_t n = 0;
    std::vector<double> k;  // n × n
    std::vector<std::uint64_t> bits;

    void on_forward(std::string (*spelling)(), shape out, const float* y, std::size_t batch) override {
        if (spelling() != "archetype::relu") return;
        const std::size_t units = out.size(), words = (units + 63) / 64;
        bits.assign(batch * words, 0);
        for (std::size_t s = 0; s < batch; ++s)
            for (std::size_t u = 0; u < units; ++u)
                if (y[s * units + u] > 0.0f) bits[s * words + u / 64] |= std::uint64_t(1) << (u % 64);
        for (std::size_t i = 0; i < batch; ++i) {
            for (std::size_t j = 0; j <= i; ++j) {
                std::size_t differ = 0;
                for (std::size_t w = 0; w < words; ++w) differ += std::popcount(bits[i * words + w] ^ bits[j * words + w]);
                const double agree = double(units - differ);
                k[i * n + j] += agree;
                if (j != i) k[j * n + i] += agree;
            }
        }
    }
};

// Puts back the network's previous observer when it goes out of scope.
template <class Net>
struct observer_reset {
    Net& net;
    forward_observer* previous = net.observer();
    ~observer_reset() { net.set_observer(previous); }
};

}  // namespace detail

// Σ θ·∂R/∂θ over weights of the network made positive, on an all-ones input (see the contract).
template <class Net>
double synflow(Net& net) {
    const std::vector<detail::proxy_leaf> leaves = detail::active_leaves(net);
    detail::network_snapshot<Net> keep(net);
    auto w = net.params();
    auto state = net.state();
    for (float& v : w) v = std::abs(v);
    for (const auto& l : leaves) {
        for (std::size_t c = 0; c < l.bn_channels; ++c) {
            w[l.w + c] = 1.0f;
            w[l.w + l.bn_channels + c] = 0.0f;
            state[l.s + c] = 0.0f;
            state[l.s + l.bn_channels + c] = 1.0f - batch_norm::eps;  // 1/√(var + eps) rounds to 1.0f
        }
    }
    std::vector<float> x(Net::input_shape.size());
    constexpr std::size_t ny = Net::output_shape.size();
    // R at input 2^−e, with every weight layer's bias scaled alike; +∞ on float overflow.
    auto forward = [&](int e) {
        std::fill(x.begin(), x.end(), std::ldexp(1.0f, -e));
        for (const auto& l : leaves)
            if (l.weights > 0)
                for (std::size_t i = l.w + l.weights; i < l.w + l.params; ++i)
                    w[i] = std::ldexp(std::abs(keep.params()[i]), -e);
        const float* y = net.forward_raw(x.data(), 1, false);
        double r = 0.0;
        for (std::size_t i = 0; i < ny; ++i) {
            if (!std::isfinite(y[i])) return std::numeric_limits<double>::infinity();
            r += double(y[i]);
        }
        return r;
    };
    const std::string how = "; synflow needs the network's gain on an all-ones input to stay within ~2^227";
    int e_in = 0;
    double r = forward(0);
    if (!std::isfinite(r)) {
        for (const auto& l : leaves)
            if (!detail::synflow_homogeneous_leaf(l.spelling()))
                throw error("synflow: the network's output on an all-ones input overflows float, and its layer " +
                            l.spelling() + " is not positively homogeneous, so the input cannot be rescaled "
                            "exactly" + how);
        e_in = 100;
        const double r_double = forward(e_in - 1);
        r = forward(e_in);
        if (!std::isfinite(r) || !std::isfinite(r_double))
            throw error("synflow: the network's output on an all-ones input overflows float even when the "
                        "input is scaled by 2^-100" + how);
        if (!(r > 0.0) || !(std::abs(r_double - 2.0 * r) <= 1e-6 * 2.0 * r))
            throw error("synflow: the network's output on an all-ones input overflows float, and the network is "
                        "not positively homogeneous (doubling the input does not double the output), so the "
                        "input cannot be rescaled exactly" + how);
    }
    const int e_seed = r > 0.0 ? std::clamp(std::ilogb(r), -100, 100) : 0;
    std::vector<float> dy(ny, std::ldexp(1.0f, -e_seed));
    net.zero_grad();
    net.backward_raw(dy.data());
    const auto g = net.grads();
    double score = 0.0;
    for (const auto& l : leaves) {
        for (std::size_t i = l.w; i < l.w + l.weights; ++i) {
            if (!std::isfinite(g[i]))
                throw error("synflow: a weight gradient of layer " + l.spelling() + " overflows float" + how);
            score += std::abs(double(w[i]) * double(g[i]));
        }
    }
    return std::ldexp(score, e_in + e_seed);
}

// Σ |θ·∂L/∂θ| over weights, L the mean cross-entropy of the batch.
template <class Net>
double snip(Net& net, const batch& b) {
    const std::vector<detail::proxy_leaf> leaves = detail::active_leaves(net);
    detail::network_snapshot<Net> keep(net);
    detail::loss_gradients(net, b, "snip");
    const auto w = net.params();
    const auto g = net.grads();
    double score = 0.0;
    for (const auto& l : leaves)
        for (std::size_t i = l.w; i < l.w + l.weights; ++i) score += std::abs(double(w[i]) * double(g[i]));
    return score;
}

// Σ over weight tensors W of ‖∂L/∂W‖₂, L the mean cross-entropy of the batch.
template <class Net>
double grad_norm(Net& net, const batch& b) {
    const std::vector<detail::proxy_leaf> leaves = detail::active_leaves(net);
    detail::network_snapshot<Net> keep(net);
    detail::loss_gradients(net, b, "grad_norm");
    const auto g = net.grads();
    double score = 0.0;
    for (const auto& l : leaves) {
        double sq = 0.0;
        for (std::size_t i = l.w; i < l.w + l.weights; ++i) sq += double(g[i]) * double(g[i]);
        score += std::sqrt(sq);
    }
    return score;
}

// log|det K| of the relu code agreement kernel over the batch (NASWOT).
template <class Net>
double nwot(Net& net, const batch& b) {
    detail::check_proxy_batch(b, "nwot");
    detail::network_snapshot<Net> keep(net);
    detail::relu_code_kernel kernel;
    kernel.n = b.size;
    kernel.k.assign(b.size * b.size, 0.0);
    detail::observer_reset<Net> reset{net};
    net.set_observer(&kernel);
    net.forward_raw(b.x, b.size, true);
    return detail::log_abs_det(kernel.k, b.size);
}

// −Σ log(λ + k) + 1/(λ + k) over the eigenvalues of the samples' input-gradient correlation matrix.
template <class Net>
double jacob_cov(Net& net, const batch& b) {
    detail::check_proxy_batch(b, "jacob_cov");
    detail::network_snapshot<Net> keep(net);
    const std::size_t n = b.size, d = Net::input_shape.size();
    net.forward_raw(b.x, n, true);
    std::vector<float> dy(n * Net::output_shape.size(), 1.0f), dx(n * d);
    net.zero_grad();
    net.backward_raw(dy.data(), dx.data());
    std::vector<double> centred(n * d), norm(n);
    for (std::size_t i = 0; i < n; ++i) {
        double mean = 0.0;
        for (std::size_t j = 0; j < d; ++j) mean += double(dx[i * d + j]);
        mean /= double(d);
        double sq = 0.0;
        for (std::size_t j = 0; j < d; ++j) {
            centred[i * d + j] = double(dx[i * d + j]) - mean;
            sq += centred[i * d + j] * centred[i * d + j];
        }
        if (sq == 0.0) return std::numeric_limits<double>::quiet_NaN();
        norm[i] = std::sqrt(sq);
    }
    std::vector<double> corr(n * n);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j <= i; ++j) {
            double dot = 0.0;
            for (std::size_t t = 0; t < d; ++t) dot += centred[i * d + t] * centred[j * d + t];
            corr[i * n + j] = corr[j * n + i] = std::clamp(dot / (norm[i] * norm[j]), -1.0, 1.0);
        }
    }
    constexpr double k = 1e-5;
    double score = 0.0;
    for (double l : detail::symmetric_eigenvalues(std::move(corr), n)) score -= std::log(l + k) + 1.0 / (l + k);
    return score;
}

}  // namespace archetype
