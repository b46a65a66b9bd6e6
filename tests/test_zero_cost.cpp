// Zero-cost proxies against hand-computed values on tiny networks with hand-set weights; synflow's
// float-overflow handling; restoring the network; determinism; the linear algebra underneath.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "archetype/estimate/zero_cost.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/identity.hpp"
#include "archetype/layers/scale.hpp"
#include "archetype/space/search_space.hpp"

namespace at = archetype;

// Net A: x (3) → dense<2> → relu → dense<2>, with
//   W1 = [[1, −2, .5], [−1, .5, 2]], b1 = [.5, −1], W2 = [[2, −1], [.5, 3]], b2 = [.25, −.5].
using net_a = at::network<at::shape{3, 1, 1}, at::sequential<at::dense<2>, at::relu, at::dense<2>>>;
// Net C: net A with a relu after the second dense (two relu layers for nwot).
using net_c = at::network<at::shape{3, 1, 1}, at::sequential<at::dense<2>, at::relu, at::dense<2>, at::relu>>;
// Net A with a batch norm after the first dense.
using net_bn =
    at::network<at::shape{3, 1, 1}, at::sequential<at::dense<2>, at::batch_norm, at::relu, at::dense<2>>>;

const std::vector<float> w1 = {1, -2, 0.5f, -1, 0.5f, 2}, b1 = {0.5f, -1}, w2 = {2, -1, 0.5f, 3},
                         b2 = {0.25f, -0.5f};

template <class Net>
void set_params(Net& net, std::initializer_list<std::vector<float>> blocks) {
    auto p = net.params();
    std::size_t i = 0;
    for (const auto& b : blocks)
        for (float v : b) p[i++] = v;
    REQUIRE(i == p.size());
}

struct samples {
    std::vector<float> x;
    std::vector<int> labels;
    at::batch get() const { return {x.data(), labels.data(), labels.size()}; }
};

TEST_CASE("synflow of dense-relu-dense by hand; batch norm is bypassed") {
    // |θ|, x = 1: h = |W1|·1 + |b1| = [4, 4.5]; y = |W2|·h + |b2| = [12.75, 16]; R = 28.75.
    // W2 terms: Σ |W2_jk|·h_k = 12.5 + 15.5 = 28; ∂R/∂h = column sums of |W2| = [2.5, 4], so the W1
    // terms are 2.5·3.5 + 4·3.5 = 22.75; biases are not scored. S = 50.75.
    net_a a;
    set_params(a, {w1, b1, w2, b2});
    CHECK(at::synflow(a) == doctest::Approx(50.75).epsilon(1e-7));
    // γ, β and the running statistics have no influence: BN is the identity for synflow
    net_bn n;
    set_params(n, {w1, b1, {3, -2}, {1, -5}, w2, b2});
    auto st = n.state();
    st[0] = 0.3f, st[1] = -7, st[2] = 4, st[3] = 0.01f;
    CHECK(at::synflow(n) == at::synflow(a));
}

// L dense layers of width 16 without bias, all weights w, input 16 ones: R = 16·(16w)^L, and R is
// homogeneous of degree 1 in each layer's weights, so S = Σ θ·∂R/∂θ = L·R (Euler).
using chain = at::network<at::shape{16, 1, 1}, at::repeat<12, at::sequential<at::dense<16, false>, at::relu>>>;

TEST_CASE("synflow beyond float range: exact rescaling of homogeneous networks, errors otherwise") {
    chain net;
    for (double w : {1.0, 1000.0}) {  // R = 16^13 ≈ 4.5e15 fits float; 16·16000^12 ≈ 4.5e51 does not
        std::fill(net.params().begin(), net.params().end(), float(w));
        const double expected = 12.0 * 16.0 * std::pow(16.0 * w, 12);
        CHECK(at::synflow(net) == doctest::Approx(expected).epsilon(1e-5));
        CHECK(net.params()[7] == float(w));
    }
    std::fill(net.params().begin(), net.params().end(), 1e10f);  // R ≈ 2.6e133, beyond 2^227 even rescaled
    CHECK_THROWS_WITH_AS(at::synflow(net), doctest::Contains("even when the input is scaled"), at::error);

    using swish_chain =
        at::network<at::shape{16, 1, 1}, at::repeat<12, at::sequential<at::dense<16, false>, at::hard_swish>>>;
    swish_chain s;
    std::fill(s.params().begin(), s.params().end(), 1000.0f);
    CHECK_THROWS_WITH_AS(at::synflow(s), doctest::Contains("archetype::hard_swish"), at::error);
    CHECK(s.params()[3] == 1000.0f);  // restored after the throw

    // x·gate(x) with a relu gate: every leaf is homogeneous, the product is not (degree 2)
    using gated = at::network<at::shape{4, 1, 1},
                              at::repeat<3, at::sequential<at::dense<4, false>,
                                                           at::excite<at::sequential<at::dense<4, false>, at::relu>>>>>;
    gated g;
    std::fill(g.params().begin(), g.params().end(), 100.0f);
    CHECK_THROWS_WITH_AS(at::synflow(g), doctest::Contains("not positively homogeneous"), at::error);
}

TEST_CASE("snip and grad_norm of dense-relu-dense by hand") {
    // x0 = [1, .5, .5] (label 1): z = [.75, −.75], h = [.75, 0], y = [1.75, −.125];
    // x1 = [.5, 1, 1] (label 0): z = [−.5, 1], h = [0, 1], y = [−.75, 2.5]. With p = softmax(y) and
    // dy = (p − onehot)/2, ∂L/∂W2 = Σ dy·hᵀ, ∂L/∂W1 = Σ (relu'(z) ⊙ W2ᵀdy)·xᵀ, summed in double:
    // snip = Σ |W ⊙ ∂L/∂W| = 9.9773537707276638, grad_norm = ‖∂L/∂W1‖ + ‖∂L/∂W2‖ = 3.8172833062542724.
    net_a a;
    set_params(a, {w1, b1, w2, b2});
    const samples d{{1, 0.5f, 0.5f, 0.5f, 1, 1}, {1, 0}};
    CHECK(at::snip(a, d.get()) == doctest::Approx(9.9773537707276638).epsilon(1e-6));
    CHECK(at::grad_norm(a, d.get()) == doctest::Approx(3.8172833062542724).epsilon(1e-6));

    const samples bad{{1, 0.5f, 0.5f}, {2}};
    CHECK_THROWS_WITH_AS(at::snip(a, bad.get()), doctest::Contains("snip: cross-entropy: label 2"), at::error);
    CHECK_THROWS_WITH_AS(at::grad_norm(a, at::batch{}), doctest::Contains("grad_norm: the batch is empty"),
                         at::error);
}

TEST_CASE("nwot: log|det K| of relu code agreements, summed over relu layers") {
    // first relu codes: [1,0,0] → (1,0); [0,1,1] → (0,1); [0,0,2] → (1,1).
    // K = [[2,0,1],[0,2,1],[1,1,2]], det 4.
    const samples d{{1, 0, 0, 0, 1, 1, 0, 0, 2}, {0, 0, 0}};
    net_a a;
    set_params(a, {w1, b1, w2, b2});
    CHECK(at::nwot(a, d.get()) == doctest::Approx(std::log(4.0)).epsilon(1e-12));
    // second relu (on W2·h + b2): z = [3.25, .25], [−1.25, 4], [.25, 9.25] → (1,1), (0,1), (1,1);
    // K = [[4,1,3],[1,4,2],[3,2,4]], det 20.
    net_c c;
    set_params(c, {w1, b1, w2, b2});
    CHECK(at::nwot(c, d.get()) == doctest::Approx(std::log(20.0)).epsilon(1e-12));
    // two samples with the same codes make K singular
    const samples same{{1, 0, 0, 2, 0, 0}, {0, 0}};
    CHECK(at::nwot(a, same.get()) == -std::numeric_limits<double>::infinity());
}

TEST_CASE("jacob_cov: correlation of input gradients by hand") {
    constexpr double k = 1e-5;
    auto term = [&](double l) { return std::log(l + k) + 1.0 / (l + k); };
    net_a a;
    set_params(a, {w1, b1, w2, b2});
    // ∂(y0 + y1)/∂x = W1ᵀ(relu'(z) ⊙ W2ᵀ1), W2ᵀ1 = [2.5, 2]: [1,0,0] → 2.5·W1[0] = [2.5, −5, 1.25];
    // [0,1,1] → 2·W1[1] = [−2, 1, 4]; their correlation r = −0.15554275420956379, eigenvalues 1 ± r.
    const double r = -0.15554275420956379;
    const samples two{{1, 0, 0, 0, 1, 1}, {0, 0}};
    CHECK(at::jacob_cov(a, two.get()) == doctest::Approx(-(term(1 + r) + term(1 - r))).epsilon(1e-9));
    CHECK(at::jacob_cov(a, two.get()) == doctest::Approx(-2.0250947406504949).epsilon(1e-9));

    // a linear network gives every sample the same gradient: correlation all ones, eigenvalues {3, 0, 0}
    using linear = at::network<at::shape{3, 1, 1}, at::sequential<at::dense<2>, at::dense<2>>>;
    linear l;
    set_params(l, {w1, b1, w2, b2});
    const samples three{{1, 0, 0, 0, 1, 1, 0, 0, 2}, {0, 0, 0}};
    CHECK(at::jacob_cov(l, three.get()) == doctest::Approx(-(term(3) + 2 * term(0))).epsilon(1e-9));
    // a constant gradient has no correlation: NaN, as the reference
    using flat = at::network<at::shape{3, 1, 1}, at::dense<1>>;
    flat f;
    set_params(f, {{1, 1, 1}, {0}});
    CHECK(std::isnan(at::jacob_cov(f, three.get())));
}

TEST_CASE("the linear algebra: Jacobi eigenvalues and log|det|") {
    // tridiagonal (−1, 2, −1) of size 6: eigenvalues 2 − 2·cos(jπ/7)
    const std::size_t n = 6;
    std::vector<double> t(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        t[i * n + i] = 2;
        if (i + 1 < n) t[i * n + i + 1] = t[(i + 1) * n + i] = -1;
    }
    auto ev = at::detail::symmetric_eigenvalues(t, n);
    std::sort(ev.begin(), ev.end());
    for (std::size_t j = 0; j < n; ++j)
        CHECK(ev[j] == doctest::Approx(2 - 2 * std::cos(double(j + 1) * std::numbers::pi / 7)).epsilon(1e-12));
    CHECK(at::detail::log_abs_det(t, n) == doctest::Approx(std::log(7.0)).epsilon(1e-12));  // det = n + 1
    CHECK(at::detail::log_abs_det({0, 2, 3, 1}, 2) == doctest::Approx(std::log(6.0)).epsilon(1e-15));  // pivots
    CHECK(at::detail::log_abs_det({1, 2, 2, 4}, 2) == -std::numeric_limits<double>::infinity());
}

// A supernet with batch norm and a choice: proxies must restore everything, count only the selected
// alternative, and not depend on threads.
using body = at::sequential<at::flatten, at::dense<24>, at::batch_norm, at::relu,
                            at::choice<"mid", at::dense<20>, at::sequential<at::dense<20>, at::relu>>, at::dense<3>>;
using space = at::search_space<at::shape{2, 2, 2}, body>;
using super = space::network_type;

samples random_samples(std::size_t n, std::uint64_t s) {
    at::rng g{at::seed{s}};
    samples d;
    for (std::size_t i = 0; i < n * 8; ++i) d.x.push_back(g.uniform(-1, 1));
    for (std::size_t i = 0; i < n; ++i) d.labels.push_back(int(g.below(3)));
    return d;
}

template <class F>
void for_each_proxy(super& net, const samples& d, F f) {
    f("synflow", at::synflow(net));
    f("snip", at::snip(net, d.get()));
    f("grad_norm", at::grad_norm(net, d.get()));
    f("nwot", at::nwot(net, d.get()));
    f("jacob_cov", at::jacob_cov(net, d.get()));
}

TEST_CASE("proxies leave parameters, gradients and state as they were, and are deterministic") {
    super net{at::seed{4}};
    space::apply(net, {1});
    std::fill(net.grads().begin(), net.grads().end(), 0.5f);
    net.state()[2] = 0.25f;  // a running mean
    const std::vector<float> w(net.params().begin(), net.params().end()), g(net.grads().begin(), net.grads().end()),
        s(net.state().begin(), net.state().end());
    const samples d = random_samples(16, 9);
    std::vector<double> first;
    for_each_proxy(net, d, [&](const char* name, double v) {
        INFO(std::string(name) << " = " << v);
        CHECK(std::isfinite(v));
        first.push_back(v);
        CHECK(std::equal(w.begin(), w.end(), net.params().begin()));
        CHECK(std::equal(g.begin(), g.end(), net.grads().begin()));
        CHECK(std::equal(s.begin(), s.end(), net.state().begin()));
    });
    at::thread_pool pool(2);
    net.set_pool(&pool);
    std::size_t i = 0;
    for_each_proxy(net, d, [&](const char* name, double v) {
        INFO(std::string(name));
        CHECK(v == first[i++]);  // bit for bit, with or without threads
    });
}

TEST_CASE("only the selected alternative of a choice is scored") {
    super net{at::seed{5}};
    const samples d = random_samples(8, 3);
    for (std::uint16_t k : {0, 1}) {
        space::apply(net, {k});
        std::vector<double> before;
        for_each_proxy(net, d, [&](const char*, double v) { before.push_back(v); });
        // scale the unselected alternative's weights: no proxy may change
        using mid = super::op::child<4>;
        const std::size_t off = super::op::w_off[4] + mid::w_off[1 - k];
        const std::size_t count = mid::w_off[2 - k] - mid::w_off[1 - k];
        for (std::size_t i = off; i < off + count; ++i) net.params()[i] *= 3.0f;
        std::size_t i = 0;
        for_each_proxy(net, d, [&](const char* name, double v) {
            INFO(name << " with alternative " << k);
            CHECK(v == before[i++]);
        });
    }
}
