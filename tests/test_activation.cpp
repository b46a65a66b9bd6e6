// Activations: costs, values and gradients at chosen points (PyTorch's conventions at the kinks),
// finite differences over the whole range of each function, gradcheck through a network, threads.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <vector>

#include "archetype/graph/sequential.hpp"
#include "archetype/layers/activation.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;

static_assert(at::relu::output(at::shape{3, 5, 7}) == at::shape{3, 5, 7});
static_assert(at::hard_swish::expected_input(at::shape{4, 1, 1}) == at::shape{4, 1, 1});
static_assert(at::relu::cost_of(at::shape{3, 5, 7}) == at::cost{0, 0, 105});
static_assert(at::relu6::cost_of(at::shape{4, 1, 1}) == at::cost{0, 0, 4});
static_assert(at::hard_swish::cost_of(at::shape{2, 3, 3}) == at::cost{0, 0, 18});
static_assert(at::sigmoid::cost_of(at::shape{1, 1, 1}) == at::cost{0, 0, 1});
static_assert(at::tanh::cost_of(at::shape{6, 2, 1}) == at::cost{0, 0, 12});
static_assert(at::network<at::shape{3, 5, 7}, at::tanh>::param_count == 0);
static_assert(at::network<at::shape{3, 5, 7}, at::tanh>::state_count == 0);

namespace {

// A test-only layer y = K·x / 4, so that gradcheck's inputs in [−1, 1] reach every piece of an activation.
template <int K>
struct stretch {
    static constexpr at::shape output(at::shape in) { return in; }
    static constexpr at::shape expected_input(at::shape in) { return in; }
    static constexpr at::cost cost_of(at::shape in) { return {0, 0, in.size()}; }
    static std::string spelling() { return "stretch"; }
    template <at::shape In>
    struct op : at::op_base<stretch, In> {
        static constexpr float k = float(K) / 4.0f;
        static void forward(const at::context& c, const at::slots&, const float* x, float* y) {
            for (std::size_t i = 0; i < c.batch * In.size(); ++i) y[i] = k * x[i];
        }
        static void backward(const at::context& c, const at::slots&, const float*, const float*, const float* dy,
                             float* dx) {
            if (dx)
                for (std::size_t i = 0; i < c.batch * In.size(); ++i) dx[i] = k * dy[i];
        }
    };
};

// Runs activation D on the values xs (one flat sample), then backward with dy = 2 everywhere.
template <class D, std::size_t N>
struct run {
    std::array<float, N> y{}, dx{};
    explicit run(const std::array<float, N>& xs) {
        at::network<at::shape{int(N), 1, 1}, D> net;
        const float* out = net.forward_raw(xs.data(), 1, true);
        std::copy(out, out + N, y.begin());
        std::array<float, N> dy;
        dy.fill(2.0f);
        net.backward_raw(dy.data(), dx.data());
    }
};

}  // namespace

TEST_CASE("activation values and gradients at chosen points follow PyTorch, kinks included") {
    SUBCASE("relu: gradient 0 at 0") {
        run<at::relu, 4> r({-1.5f, 0.0f, 1e-6f, 2.5f});
        CHECK(r.y == std::array<float, 4>{0.0f, 0.0f, 1e-6f, 2.5f});
        CHECK(r.dx == std::array<float, 4>{0.0f, 0.0f, 2.0f, 2.0f});
    }
    SUBCASE("relu6: gradient 1 strictly inside (0, 6), 0 at both ends and outside") {
        run<at::relu6, 7> r({-1.0f, 0.0f, 0.5f, 5.5f, 6.0f, 6.0001f, 9.0f});
        CHECK(r.y == std::array<float, 7>{0.0f, 0.0f, 0.5f, 5.5f, 6.0f, 6.0f, 6.0f});
        CHECK(r.dx == std::array<float, 7>{0.0f, 0.0f, 2.0f, 2.0f, 0.0f, 0.0f, 0.0f});
    }
    SUBCASE("hard_swish: x·relu6(x+3)/6; gradient 0 below −3, x/3 + 1/2 on [−3, 3], 1 above 3") {
        run<at::hard_swish, 8> r({-4.0f, -3.0f, -1.5f, 0.0f, 1.5f, 3.0f, 3.5f, -3.0001f});
        const std::array<float, 8> y{0.0f, 0.0f, -0.375f, 0.0f, 1.125f, 3.0f, 3.5f, 0.0f};
        // (2x+3)/6 at −3: −1/2, at −1.5: 0, at 0: 1/2, at 1.5: 1, at 3: 3/2 (times dy = 2)
        const std::array<float, 8> dx{0.0f, -1.0f, 0.0f, 1.0f, 2.0f, 3.0f, 2.0f, 0.0f};
        for (std::size_t i = 0; i < 8; ++i) {
            CHECK(r.y[i] == doctest::Approx(y[i]).epsilon(1e-6));
            CHECK(r.dx[i] == doctest::Approx(dx[i]).epsilon(1e-6));
        }
    }
    SUBCASE("hard_sigmoid: relu6(x+3)/6; gradient 1/6 strictly inside (−3, 3), 0 at both ends and outside") {
        run<at::hard_sigmoid, 6> r({-4.0f, -3.0f, -1.5f, 0.0f, 3.0f, 4.0f});
        const std::array<float, 6> y{0.0f, 0.0f, 0.25f, 0.5f, 1.0f, 1.0f};
        const std::array<float, 6> dx{0.0f, 0.0f, 2.0f / 6.0f, 2.0f / 6.0f, 0.0f, 0.0f};
        for (std::size_t i = 0; i < 6; ++i) {
            CHECK(r.y[i] == doctest::Approx(y[i]).epsilon(1e-6));
            CHECK(r.dx[i] == doctest::Approx(dx[i]).epsilon(1e-6));
        }
    }
    SUBCASE("sigmoid and tanh, gradients from the output") {
        run<at::sigmoid, 3> s({0.0f, 2.0f, -30.0f});
        CHECK(s.y[0] == 0.5f);
        CHECK(s.y[1] == doctest::Approx(0.8807970779778823).epsilon(1e-6));
        CHECK(s.y[2] / 9.357622968840175e-14 == doctest::Approx(1.0).epsilon(1e-5));
        CHECK(s.dx[0] == 0.5f);  // 2 · 0.25
        CHECK(s.dx[1] == doctest::Approx(2 * 0.8807970779778823 * (1 - 0.8807970779778823)).epsilon(1e-5));
        run<at::tanh, 3> t({0.0f, 1.0f, -0.5f});
        CHECK(t.y[0] == 0.0f);
        CHECK(t.y[1] == doctest::Approx(0.7615941559557649).epsilon(1e-6));
        CHECK(t.y[2] == doctest::Approx(-0.46211715726000974).epsilon(1e-6));
        CHECK(t.dx[0] == 2.0f);
        CHECK(t.dx[1] == doctest::Approx(2 * (1 - 0.7615941559557649 * 0.7615941559557649)).epsilon(1e-5));
    }
}

namespace {

// Central differences of F::f at points spread over [−8, 8] (kept ≥ 0.05 away from the kinks at
// −3, 0, 3, 6) against F::grad; returns the largest absolute difference.
template <class F>
double max_derivative_error() {
    constexpr float h = 1e-2f;
    double worst = 0;
    for (int i = 0; i <= 640; ++i) {
        const float x = -8.0f + 0.025f * float(i) + 0.0123f;
        const bool near_kink = std::abs(x + 3) < 0.05f || std::abs(x) < 0.05f || std::abs(x - 3) < 0.05f ||
                               std::abs(x - 6) < 0.05f;
        if (near_kink) continue;
        const double numeric = (double(F::f(x + h)) - double(F::f(x - h))) / (2.0 * double(h));
        const double analytic = F::grad(x, F::f(x), 1.0f);
        worst = std::max(worst, std::abs(numeric - analytic));
    }
    return worst;
}

}  // namespace

TEST_CASE("activation gradients agree with finite differences over [−8, 8], away from kinks") {
    namespace k = at::kernels;
    CHECK(max_derivative_error<k::relu_fn>() < 2e-4);
    CHECK(max_derivative_error<k::relu6_fn>() < 2e-4);
    CHECK(max_derivative_error<k::hard_swish_fn>() < 2e-4);
    CHECK(max_derivative_error<k::sigmoid_fn>() < 2e-4);
    CHECK(max_derivative_error<k::tanh_fn>() < 2e-4);
    CHECK(max_derivative_error<k::hard_sigmoid_fn>() < 2e-4);
}

namespace {

// gradcheck's largest input-gradient error (relative to the largest entry) for D on samples of shape S.
template <at::shape S, class D>
double input_error(std::size_t batch, std::uint64_t seed, float eps = 1e-2f) {
    return at::test::gradcheck<S, D>(batch, seed, true, eps).max_input_error;
}
constexpr at::shape odd{3, 5, 7}, flat{4, 1, 1};
using wide_relu6 = at::sequential<stretch<32>, at::relu6>;          // inputs in [−8, 8]
using wide_hard_swish = at::sequential<stretch<20>, at::hard_swish>;  // [−5, 5]
using wide_sigmoid = at::sequential<stretch<16>, at::sigmoid>;        // [−4, 4]
using wide_tanh = at::sequential<stretch<12>, at::tanh>;              // [−3, 3]

}  // namespace

TEST_CASE("activation layers pass gradcheck through a network, batch 1 and 3, odd shapes") {
    // Observed errors ≤ 3e-4 (tanh; ≤ 5e-5 for the piecewise ones). Finite differences are wrong within
    // eps of a kink: with eps 1e-3 each input lands there with probability ~1e-3 per kink, so these seeds
    // are ones whose (reproducible) draws avoid the kinks; seed 8 put a hard_swish input at 3.00065.
    constexpr double tol = 1e-3;
    CHECK(input_error<odd, at::relu>(1, 1, 1e-3f) < tol);
    CHECK(input_error<odd, at::relu>(3, 2, 1e-3f) < tol);
    CHECK(input_error<flat, at::relu>(3, 3, 1e-3f) < tol);
    CHECK(input_error<odd, wide_relu6>(1, 4, 1e-3f) < tol);
    CHECK(input_error<odd, wide_relu6>(3, 5, 1e-3f) < tol);
    CHECK(input_error<flat, wide_relu6>(3, 6, 1e-3f) < tol);
    CHECK(input_error<odd, wide_hard_swish>(1, 7, 1e-3f) < tol);
    CHECK(input_error<odd, wide_hard_swish>(3, 17, 1e-3f) < tol);
    CHECK(input_error<flat, wide_hard_swish>(3, 9, 1e-3f) < tol);
    CHECK(input_error<odd, wide_sigmoid>(1, 10) < tol);
    CHECK(input_error<odd, wide_sigmoid>(3, 11) < tol);
    CHECK(input_error<flat, at::sigmoid>(3, 12) < tol);
    CHECK(input_error<odd, wide_tanh>(1, 13) < tol);
    CHECK(input_error<odd, wide_tanh>(3, 14) < tol);
    CHECK(input_error<flat, at::tanh>(3, 15) < tol);
}

TEST_CASE("activations give the same bits with and without threads") {
    using net_t = at::network<at::shape{16, 32, 32}, at::hard_swish>;  // 16k values per sample: parallel
    const std::size_t batch = 3, size = 3 * 16 * 32 * 32;
    static_assert(size >= at::detail::eltwise_parallel_threshold);
    at::rng g(at::seed{5});
    std::vector<float> x(size), dy(size);
    for (auto& v : x) v = g.uniform(-5.0f, 5.0f);
    for (auto& v : dy) v = g.uniform(-1.0f, 1.0f);
    at::thread_pool pool(3);
    net_t serial, threaded(at::seed{}, &pool);
    const float* ys = serial.forward_raw(x.data(), batch, true);
    const float* yt = threaded.forward_raw(x.data(), batch, true);
    CHECK(std::equal(ys, ys + size, yt));
    std::vector<float> dxs(size), dxt(size);
    serial.backward_raw(dy.data(), dxs.data());
    threaded.backward_raw(dy.data(), dxt.data());
    CHECK(dxs == dxt);
    CHECK(ys[0] == at::kernels::hard_swish_fn::f(x[0]));
    CHECK(ys[size - 1] == at::kernels::hard_swish_fn::f(x[size - 1]));
}

TEST_CASE("activation spellings name the types") {
    CHECK(at::relu::spelling() == "archetype::relu");
    CHECK(at::relu6::spelling() == "archetype::relu6");
    CHECK(at::hard_swish::spelling() == "archetype::hard_swish");
    CHECK(at::sigmoid::spelling() == "archetype::sigmoid");
    CHECK(at::tanh::spelling() == "archetype::tanh");
    CHECK(at::sequential<at::relu, at::tanh>::spelling() == "archetype::sequential<archetype::relu, archetype::tanh>");
}
