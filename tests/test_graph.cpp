// Composition: shape propagation, costs, parameter layout and gradients of sequential, residual,
// sum, concat and repeat.
#include <doctest/doctest.h>

#include "archetype/graph/branches.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/layers/dense.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;

using mlp = at::sequential<at::flatten, at::dense<7>, at::dense<5>>;
static_assert(mlp::output(at::shape{2, 3, 4}) == at::shape{5, 1, 1});
static_assert(mlp::cost_of(at::shape{2, 3, 4}) == at::cost{24 * 7 + 7 + 7 * 5 + 5, 24 * 7 + 7 * 5, 24 + 7 + 5});
static_assert(at::dense<3>::expected_input(at::shape{2, 2, 1}) == at::shape{4, 1, 1});

using res = at::residual<at::dense<6>, at::dense<6>>;
static_assert(res::output(at::shape{6, 1, 1}) == at::shape{6, 1, 1});
// skip copy (6) + two dense (6 + 6) + the sum (6)
static_assert(res::cost_of(at::shape{6, 1, 1}) == at::cost{2 * (36 + 6), 72, 24});

using cat = at::concat<at::dense<3>, at::identity, at::dense<2>>;
static_assert(cat::output(at::shape{4, 1, 1}) == at::shape{9, 1, 1});

using rep = at::repeat<3, at::dense<4>>;
static_assert(rep::cost_of(at::shape{4, 1, 1}).params == 3 * 20);
static_assert(at::network<at::shape{4, 1, 1}, rep>::param_count == 60);

TEST_CASE("sequential runs its layers in order with the parameter layout of the pack") {
    using net_t = at::network<at::shape{3, 1, 1}, at::sequential<at::dense<2>, at::dense<1>>>;
    net_t net{at::seed{3}};
    auto p = net.params();
    REQUIRE(p.size() == 3 * 2 + 2 + 2 + 1);
    // set weights by hand: first dense w=[[1,0,0],[0,1,0]] b=[0,1]; second w=[[1,2]] b=[0.5]
    const float w[] = {1, 0, 0, 0, 1, 0, 0, 1, 1, 2, 0.5f};
    std::copy(std::begin(w), std::end(w), p.begin());
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({1, 3, 1, 1});
    x(0, 0, 0, 0) = 2;
    x(0, 1, 0, 0) = 3;
    x(0, 2, 0, 0) = 100;
    auto y = net.forward(x);
    REQUIRE(y.shape()[0] == 1);
    REQUIRE(y.shape()[1] == 1);
    CHECK(y(0, 0) == doctest::Approx(2 + 2 * (3 + 1) + 0.5));
}

TEST_CASE("the same seed gives the same weights, another seed other weights") {
    using net_t = at::network<at::shape{5, 1, 1}, mlp>;
    net_t a{at::seed{7}}, b{at::seed{7}}, c{at::seed{8}};
    CHECK(std::equal(a.params().begin(), a.params().end(), b.params().begin()));
    CHECK(!std::equal(a.params().begin(), a.params().end(), c.params().begin()));
}

TEST_CASE("a batch with the wrong sample shape is a run-time error naming both shapes") {
    at::network<at::shape{2, 3, 4}, mlp> net;
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({2, 2, 4, 3});
    CHECK_THROWS_WITH_AS(net.forward(x), doctest::Contains("{2, 3, 4}"), at::error);
    CHECK_THROWS_WITH_AS(net.forward(x), doctest::Contains("{2, 4, 3}"), at::error);
}

TEST_CASE("gradients of compositions agree with finite differences") {
    using namespace at::test;
    check_gradients<at::shape{2, 3, 4}, mlp>(3);
    check_gradients<at::shape{6, 1, 1}, res>(2);
    check_gradients<at::shape{4, 1, 1}, cat>(2);
    check_gradients<at::shape{4, 1, 1}, rep>(1);
    check_gradients<at::shape{4, 1, 1}, at::sum<at::dense<3>, at::sequential<at::dense<2>, at::dense<3>>>>(2);
}

TEST_CASE("spelling names the type as C++") {
    CHECK(res::spelling() == "archetype::residual<archetype::dense<6, true>, archetype::dense<6, true>>");
    CHECK(rep::spelling() == "archetype::repeat<3, archetype::dense<4, true>>");
}

TEST_CASE("an observer sees every leaf output once, in forward order, with its type and shape") {
    struct recorder : at::forward_observer {
        std::vector<std::string> seen;
        std::vector<float> first_values;
        void on_forward(std::string (*spelling)(), at::shape out, const float* y, std::size_t batch) override {
            seen.push_back(spelling() + " " + out.str() + " x" + std::to_string(batch));
            first_values.push_back(y[0]);
        }
    } rec;
    using body = at::sequential<at::dense<3>, at::residual<at::dense<3>>, at::dense<2>>;
    at::network<at::shape{4, 1, 1}, body> net{at::seed{2}};
    net.set_observer(&rec);
    std::vector<float> x(2 * 4, 0.5f);
    const float* y = net.forward_raw(x.data(), 2, false);
    REQUIRE(rec.seen.size() == 4);
    CHECK(rec.seen[0] == "archetype::dense<3, true> {3, 1, 1} x2");
    CHECK(rec.seen[1] == "archetype::identity {3, 1, 1} x2");
    CHECK(rec.seen[2] == "archetype::dense<3, true> {3, 1, 1} x2");
    CHECK(rec.seen[3] == "archetype::dense<2, true> {2, 1, 1} x2");
    CHECK(rec.first_values[3] == y[0]);
    net.set_observer(nullptr);
    net.forward_raw(x.data(), 2, false);
    CHECK(rec.seen.size() == 4);
}
