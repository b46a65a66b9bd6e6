// elastic_mbconv: kernel and expand decisions run by one run-time function, against the same space
// written as a value_grid of dyn_mbconv compositions.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "archetype/space/elastic_mbconv.hpp"
#include "archetype/space/genotype_text.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;

template <int Out, int Stride, class Act>
struct mb {
    template <int K, int E>
    using type = at::dyn_mbconv<Out, K, Stride, E, Act>;
};
// two blocks: stride 2 with new channels, then stride 1 with the skip
template <class Act>
using elastic = at::sequential<at::elastic_mbconv<"b0", 8, 2, Act, at::int_values<3, 5>, at::int_values<1, 3>>,
                               at::elastic_mbconv<"b1", 8, 1, Act, at::int_values<3, 7>, at::int_values<2, 4>>>;
template <class Act>
using grid = at::sequential<
    at::value_grid<"b0_k", "b0_e", mb<8, 2, Act>::template type, at::int_values<3, 5>, at::int_values<1, 3>>,
    at::value_grid<"b1_k", "b1_e", mb<8, 1, Act>::template type, at::int_values<3, 7>, at::int_values<2, 4>>>;
constexpr at::shape in{4, 7, 7};
using es = at::search_space<in, elastic<at::hard_swish>>;
using gs = at::search_space<in, grid<at::hard_swish>>;

static_assert(es::decision_count == 4 && gs::decision_count == 4);
static_assert(es::decisions[0].name == "b0_k" && es::decisions[1].name == "b0_e" && es::decisions[3].name == "b1_e");
static_assert(es::decisions[1].labels[1] == "3" && es::cardinality == at::big_count{16});
static_assert(es::network_type::param_count == gs::network_type::param_count);

TEST_CASE("same decisions, costs, weights and outputs as the value_grid of compositions") {
    es::network_type a{at::seed{5}};
    gs::network_type b{at::seed{5}};
    for (std::size_t i = 0; i < a.params().size(); ++i) REQUIRE(a.params()[i] == b.params()[i]);
    at::rng r{at::seed{1}};
    std::vector<float> x(3 * in.size());
    for (auto& v : x) v = r.uniform(-2.0f, 2.0f);
    for (std::uint64_t idx = 0; idx < 16; ++idx) {
        const auto g = es::from_index(at::big_count{idx});
        CAPTURE(at::to_text<es>(g));
        CHECK(at::to_text<es>(g) == at::to_text<gs>(g));
        CHECK(es::cost_of(g) == gs::cost_of(g));
        CHECK(at::resolved_spelling<es>(g) == at::resolved_spelling<gs>(g));
        es::apply(a, g);
        gs::apply(b, g);
        for (bool training : {true, false}) {
            const float* ya = a.forward_raw(x.data(), 3, training);
            const float* yb = b.forward_raw(x.data(), 3, training);
            const std::size_t ny = 3 * es::network_type::output_shape.size();
            double worst = 0;
            for (std::size_t i = 0; i < ny; ++i) worst = std::max(worst, double(std::abs(ya[i] - yb[i])));
            CHECK(worst < 1e-6);  // the same kernels in the same order (FMA contraction may differ by inlining)
            std::vector<float> dy(ny), dxa(x.size()), dxb(x.size());
            for (std::size_t i = 0; i < ny; ++i) dy[i] = std::sin(float(i));
            a.zero_grad();
            b.zero_grad();
            a.backward_raw(dy.data(), dxa.data());
            b.backward_raw(dy.data(), dxb.data());
            auto close = [](float u, float v) { return std::abs(u - v) <= 1e-5f * (1.0f + std::abs(v)); };
            for (std::size_t i = 0; i < dxa.size(); ++i) REQUIRE(close(dxa[i], dxb[i]));
            for (std::size_t i = 0; i < a.grads().size(); ++i) {
                CAPTURE(i);
                REQUIRE(close(a.grads()[i], b.grads()[i]));
            }
        }
        // running statistics went the same way, and codegen takes the same weights
        const auto wa = at::selected_weights<es>(a, g), wb = at::selected_weights<gs>(b, g);
        CHECK(wa.params == wb.params);
        REQUIRE(wa.state.size() == wb.state.size());
        for (std::size_t i = 0; i < wa.state.size(); ++i) CHECK(std::abs(wa.state[i] - wb.state[i]) < 1e-5f);
    }
}

TEST_CASE("elastic_mbconv passes finite differences (kernel 5, expand 3 selected)") {
    // tanh for the kinked activations, eps 1e-3, as tests/test_mbconv.cpp; the state is set by hand
    using net_t = at::network<in, elastic<at::tanh>>;
    net_t net{at::seed{2}};
    using sp = at::search_space<in, elastic<at::tanh>>;
    sp::apply(net, {1, 1, 1, 1});
    at::rng r{at::seed{3}};
    std::vector<float> x(2 * in.size()), rr(2 * net_t::output_shape.size());
    for (auto& v : x) v = r.uniform(-1.0f, 1.0f);
    for (auto& v : rr) v = r.uniform(-1.0f, 1.0f);
    auto loss = [&] {
        const float* y = net.forward_raw(x.data(), 2, true);
        double l = 0;
        for (std::size_t i = 0; i < rr.size(); ++i) l += double(rr[i]) * y[i];
        return l;
    };
    loss();
    net.zero_grad();
    std::vector<float> dx(x.size());
    net.backward_raw(rr.data(), dx.data());
    const std::vector<float> dw(net.grads().begin(), net.grads().end());
    auto numeric = [&](float& p) {
        const float keep = p;
        p = keep + 1e-3f;
        const double lp = loss();
        p = keep - 1e-3f;
        const double lm = loss();
        p = keep;
        return (lp - lm) / 2e-3;
    };
    double sx = 1e-3, sw = 1e-3, ex = 0, ew = 0;
    for (float v : dx) sx = std::max(sx, double(std::abs(v)));
    for (float v : dw) sw = std::max(sw, double(std::abs(v)));
    for (std::size_t i = 0; i < x.size(); i += 3) ex = std::max(ex, std::abs(numeric(x[i]) - dx[i]) / sx);
    std::size_t checked = 0;
    const auto active = at::selected_weights<sp>(net, {1, 1, 1, 1}).params.size();
    for (std::size_t i = 0; i < dw.size(); i += 7) {
        const double num = numeric(net.params()[i]);
        ew = std::max(ew, std::abs(num - dw[i]) / sw);
        checked += dw[i] != 0.0f;
    }
    CHECK(ex < 1e-3);
    CHECK(ew < 1e-3);
    CHECK(checked > active / 14);  // the selected variants' parameters were among those checked
}

TEST_CASE("an out-of-range selection is an error naming the decision") {
    es::network_type net{at::seed{1}};
    net.state()[1] = 2.0f;  // b0_e has 2 alternatives
    xt::xtensor<float, 4> x = xt::zeros<float>({1, 4, 7, 7});
    CHECK_THROWS_WITH_AS(net.forward(x), doctest::Contains("elastic_mbconv \"b0_e\""), at::error);
}

TEST_CASE("results do not depend on the thread count") {
    at::thread_pool pool(3);
    es::network_type serial{at::seed{6}}, threaded{at::seed{6}, &pool};
    const es::genotype g{1, 1, 1, 0};
    es::apply(serial, g);
    es::apply(threaded, g);
    std::vector<float> x(5 * in.size());
    at::rng r{at::seed{9}};
    for (auto& v : x) v = r.uniform(-1.0f, 1.0f);
    const std::size_t ny = 5 * es::network_type::output_shape.size();
    const float* ys = serial.forward_raw(x.data(), 5, true);
    const float* yt = threaded.forward_raw(x.data(), 5, true);
    CHECK(std::vector<float>(ys, ys + ny) == std::vector<float>(yt, yt + ny));
    std::vector<float> dy(ny, 0.5f), dxs(x.size()), dxt(x.size());
    serial.backward_raw(dy.data(), dxs.data());
    threaded.backward_raw(dy.data(), dxt.data());
    CHECK(dxs == dxt);
    CHECK(std::vector<float>(serial.grads().begin(), serial.grads().end()) ==
          std::vector<float>(threaded.grads().begin(), threaded.grads().end()));
    CHECK(std::vector<float>(serial.state().begin(), serial.state().end()) ==
          std::vector<float>(threaded.state().begin(), threaded.state().end()));
}
