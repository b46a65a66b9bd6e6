// SGD / Adam / AdamW: hand-computed first steps, several steps against an independent double-precision
// reimplementation of PyTorch 1.13's update rules, threaded steps (same bits as serial), state handling
// and errors.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "archetype/core/rng.hpp"
#include "archetype/core/thread_pool.hpp"
#include "archetype/train/optimizer.hpp"

namespace at = archetype;

namespace {

// Reference SGD in double, written from the torch.optim.SGD documentation.
struct ref_sgd {
    double lr, mu, tau, wd;
    bool nesterov;
    std::vector<double> b;
    void step(std::vector<double>& p, const std::vector<float>& grad, std::size_t t) {
        if (b.empty()) b.resize(p.size());
        for (std::size_t i = 0; i < p.size(); ++i) {
            double g = grad[i] + wd * p[i];
            if (mu != 0) {
                b[i] = t == 1 ? g : mu * b[i] + (1 - tau) * g;
                g = nesterov ? g + mu * b[i] : b[i];
            }
            p[i] -= lr * g;
        }
    }
};

// Reference Adam/AdamW in double, textbook form with bias-corrected moments.
struct ref_adam {
    double lr, b1, b2, eps, wd;
    bool decoupled;
    std::vector<double> m, v;
    void step(std::vector<double>& p, const std::vector<float>& grad, std::size_t t) {
        if (m.empty()) m.assign(p.size(), 0), v.assign(p.size(), 0);
        for (std::size_t i = 0; i < p.size(); ++i) {
            double g = grad[i];
            if (decoupled) p[i] -= lr * wd * p[i];
            else g += wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            const double m_hat = m[i] / (1 - std::pow(b1, double(t)));
            const double v_hat = v[i] / (1 - std::pow(b2, double(t)));
            p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
        }
    }
};

// Runs `steps` steps of opt and ref on the same seeded parameters and gradients; returns the largest
// difference |float − double| over all parameters after the last step.
template <class Opt, class Ref>
double run_both(Opt opt, Ref ref, std::size_t steps, std::size_t n = 37, at::thread_pool* pool = nullptr) {
    at::rng g(at::seed{11});
    std::vector<float> p(n);
    for (auto& v : p) v = g.uniform(-1.0f, 1.0f);
    std::vector<double> pd(p.begin(), p.end());
    std::vector<float> grad(n);
    for (std::size_t t = 1; t <= steps; ++t) {
        for (auto& v : grad) v = g.uniform(-0.5f, 0.5f);
        if (pool)
            opt.step(p, grad, opt.lr, pool);
        else
            opt.step(p, grad);
        ref.step(pd, grad, t);
    }
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(double(p[i]) - pd[i]));
    return worst;
}

// The parameters after `steps` steps of opt on n seeded parameters, the step spread over pool (or not).
template <class Opt>
std::vector<float> run_on(Opt opt, std::size_t steps, std::size_t n, at::thread_pool* pool) {
    at::rng g(at::seed{12});
    std::vector<float> p(n), grad(n);
    for (auto& v : p) v = g.uniform(-1.0f, 1.0f);
    for (std::size_t t = 1; t <= steps; ++t) {
        for (auto& v : grad) v = g.uniform(-0.5f, 0.5f);
        opt.step(p, grad, opt.lr, pool);
    }
    return p;
}

// Serial, 2 and 3 threads give the same bits, on a vector large enough to be split into blocks (with a
// partial last block), and the threaded result still follows the double reference.
template <class Opt, class Ref>
void check_threaded(Opt opt, Ref ref, std::size_t steps) {
    constexpr std::size_t n = 3 * at::detail::optimizer_parallel_min + 37;
    static_assert(n % at::detail::optimizer_block != 0);
    at::thread_pool two(2), three(3);
    const std::vector<float> serial = run_on(opt, steps, n, nullptr);
    CHECK(run_on(opt, steps, n, &two) == serial);
    CHECK(run_on(opt, steps, n, &three) == serial);
    CHECK(run_both(opt, ref, steps, n, &two) < 1e-6);  // every element updated, once per step
}

}  // namespace

TEST_CASE("SGD with momentum: the first step uses the gradient as the buffer (hand values)") {
    at::sgd opt{.lr = 0.1f, .momentum = 0.9f};
    std::vector<float> p = {1.0f}, g = {0.5f};
    opt.step(p, g);
    CHECK(p[0] == doctest::Approx(0.95).epsilon(1e-7));  // b = 0.5
    opt.step(p, g);
    CHECK(p[0] == doctest::Approx(0.855).epsilon(1e-7));  // b = 0.9·0.5 + 0.5 = 0.95
    CHECK(opt.state.steps == 2);
    CHECK(opt.state.first[0] == doctest::Approx(0.95).epsilon(1e-7));
    at::sgd nest{.lr = 0.1f, .momentum = 0.9f, .nesterov = true};
    p = {1.0f};
    nest.step(p, g);
    CHECK(p[0] == doctest::Approx(1 - 0.1 * (0.5 + 0.9 * 0.5)).epsilon(1e-7));
}

TEST_CASE("Adam and AdamW first steps (hand values)") {
    std::vector<float> p = {1.0f}, g = {0.5f};
    at::adam a{.lr = 0.1f};
    a.step(p, g);  // m̂ = 0.5, v̂ = 0.25: the step is lr · 0.5 / (0.5 + 1e-8)
    CHECK(p[0] == doctest::Approx(0.9).epsilon(1e-7));
    p = {1.0f};
    at::adamw w{.lr = 0.1f, .weight_decay = 0.1f};
    w.step(p, g);  // decay first: 1 · (1 − 0.01), then −0.1
    CHECK(p[0] == doctest::Approx(0.89).epsilon(1e-7));
    p = {1.0f};
    at::adam l2{.lr = 0.1f, .weight_decay = 0.5f};
    l2.step(p, g);  // g = 0.5 + 0.5·1 = 1: still a step of lr
    CHECK(p[0] == doctest::Approx(0.9).epsilon(1e-7));
    CHECK(at::adamw{}.weight_decay == 0.01f);
    CHECK(at::adam{}.weight_decay == 0.0f);
}

TEST_CASE("SGD over several steps matches the double reference") {
    const double tol = 1e-6;  // float rounding over 6 steps of O(1) parameters (seen: ≤ 1.3e-7)
    CHECK(run_both(at::sgd{.lr = 0.05f}, ref_sgd{0.05, 0, 0, 0, false, {}}, 6) < tol);
    CHECK(run_both(at::sgd{.lr = 0.05f, .momentum = 0.9f}, ref_sgd{0.05, 0.9, 0, 0, false, {}}, 6) < tol);
    CHECK(run_both(at::sgd{.lr = 0.05f, .momentum = 0.8f, .dampening = 0.3f},
                   ref_sgd{0.05, 0.8, 0.3, 0, false, {}}, 6) < tol);
    CHECK(run_both(at::sgd{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f, .nesterov = true},
                   ref_sgd{0.05, 0.9, 0, 0.01, true, {}}, 6) < tol);
    CHECK(run_both(at::sgd{.lr = 0.05f, .weight_decay = 0.1f}, ref_sgd{0.05, 0, 0, 0.1, false, {}}, 6) < tol);
    // and the reference is sensitive: nesterov on one side only is far off
    CHECK(run_both(at::sgd{.lr = 0.05f, .momentum = 0.9f}, ref_sgd{0.05, 0.9, 0, 0, true, {}}, 6) > 1e-2);
}

TEST_CASE("Adam and AdamW over several steps match the double reference") {
    const double tol = 1e-6;  // seen: ≤ 2.7e-7
    CHECK(run_both(at::adam{.lr = 0.01f}, ref_adam{0.01, 0.9, 0.999, 1e-8, 0, false, {}, {}}, 8) < tol);
    CHECK(run_both(at::adam{.lr = 0.01f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-3f, .weight_decay = 0.1f},
                   ref_adam{0.01, double(0.8f), double(0.99f), double(1e-3f), double(0.1f), false, {}, {}}, 8) <
          tol);
    CHECK(run_both(at::adamw{.lr = 0.01f, .weight_decay = 0.1f},
                   ref_adam{0.01, 0.9, 0.999, 1e-8, double(0.1f), true, {}, {}}, 8) < tol);
    // L2 and decoupled decay differ measurably
    CHECK(run_both(at::adamw{.lr = 0.01f, .weight_decay = 0.5f},
                   ref_adam{0.01, 0.9, 0.999, 1e-8, 0.5, false, {}, {}}, 8) > 1e-3);
}

TEST_CASE("steps spread over threads give the same bits as serial steps, and still follow the reference") {
    check_threaded(at::sgd{.lr = 0.05f}, ref_sgd{0.05, 0, 0, 0, false, {}}, 4);
    check_threaded(at::sgd{.lr = 0.05f, .momentum = 0.9f}, ref_sgd{0.05, 0.9, 0, 0, false, {}}, 4);
    check_threaded(at::sgd{.lr = 0.05f, .momentum = 0.8f, .dampening = 0.3f}, ref_sgd{0.05, 0.8, 0.3, 0, false, {}},
                   4);
    check_threaded(at::sgd{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f, .nesterov = true},
                   ref_sgd{0.05, 0.9, 0, 0.01, true, {}}, 4);
    check_threaded(at::sgd{.lr = 0.05f, .weight_decay = 0.1f}, ref_sgd{0.05, 0, 0, 0.1, false, {}}, 4);
    check_threaded(at::adam{.lr = 0.01f, .weight_decay = 0.1f},
                   ref_adam{0.01, 0.9, 0.999, 1e-8, double(0.1f), false, {}, {}}, 4);
    check_threaded(at::adamw{.lr = 0.01f, .weight_decay = 0.1f},
                   ref_adam{0.01, 0.9, 0.999, 1e-8, double(0.1f), true, {}, {}}, 4);
}

TEST_CASE("the lr argument overrides .lr for one step") {
    std::vector<float> p = {1.0f}, g = {1.0f};
    at::sgd opt{.lr = 100.0f};
    opt.step(p, g, 0.25f);
    CHECK(p[0] == 0.75f);
}

TEST_CASE("a copied optimizer resumes exactly (its state is all it carries)") {
    at::rng r(at::seed{5});
    std::vector<float> p(10), g(10);
    for (auto& v : p) v = r.uniform(-1, 1);
    at::adamw a{.lr = 0.01f};
    for (int s = 0; s < 3; ++s) {
        for (auto& v : g) v = r.uniform(-1, 1);
        a.step(p, g);
    }
    at::adamw b = a;  // a checkpoint
    std::vector<float> q = p;
    for (auto& v : g) v = r.uniform(-1, 1);
    a.step(p, g);
    b.step(q, g);
    CHECK(p == q);
    CHECK(b.state.steps == 4);
    b.reset();
    CHECK(b.state.steps == 0);
    CHECK(b.state.first.size() == 0);
}

TEST_CASE("optimizer misuse throws archetype::error with the fix") {
    std::vector<float> p(4, 1.0f), g(3, 1.0f), g4(4, 1.0f), p5(5, 1.0f), g5(5, 1.0f);
    at::sgd s{.lr = 0.1f, .momentum = 0.9f};
    CHECK_THROWS_WITH_AS(s.step(p, g), doctest::Contains("same network"), at::error);
    s.step(p, g4);
    CHECK_THROWS_WITH_AS(s.step(p5, g5), doctest::Contains("one optimizer per network"), at::error);
    at::adam a;
    a.step(p, g4);
    CHECK_THROWS_WITH_AS(a.step(p5, g5), doctest::Contains("reset()"), at::error);
    CHECK_THROWS_WITH_AS((at::sgd{.lr = 0.1f, .nesterov = true}.step(p, g4)), doctest::Contains("Nesterov"),
                         at::error);
    CHECK_THROWS_WITH_AS((at::sgd{.lr = -1.0f}.step(p, g4)), doctest::Contains(".lr"), at::error);
    CHECK_THROWS_WITH_AS((at::adam{.beta1 = 1.0f}.step(p, g4)), doctest::Contains("beta1"), at::error);
}
