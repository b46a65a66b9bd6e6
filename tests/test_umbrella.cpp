// The umbrella header: the whole library in one translation unit (no clashing names between folders),
// and a small residual network declared with it whose costs are checked against hand computation.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "archetype/archetype.hpp"

namespace at = archetype;

// stem conv-BN-ReLU 1→8 (3×3, no bias), a ResNet basic block on 8×28×28, global pooling, a classifier
using resnet_tiny = at::sequential<at::conv_bn_relu<8, 3>, at::resnet_basic<8>, at::global_avg_pool, at::flatten,
                                   at::dense<10>>;
using net_t = at::network<at::shape{1, 28, 28}, resnet_tiny>;

// params: stem 8·9 + BN 2·8; block 2·(8·8·9 + 2·8); dense 8·10 + 10
static_assert(at::params_v<net_t> == (72 + 16) + 2 * (576 + 16) + 90);
// MACs: stem 72·28²; block 2·576·28²; dense 80 (batch norm, the add and the pooling are not MACs)
static_assert(at::macs_v<net_t> == 72 * 784 + 2 * 576 * 784 + 80);
static_assert(at::macs_v<net_t> < 1'000'000, "a budget as a static_assert");
static_assert(net_t::output_shape == at::shape{10, 1, 1});

TEST_CASE("a residual network declared through the umbrella header runs and trains one step") {
    net_t net{at::seed{3}};
    std::vector<float> x(4 * 784);
    at::rng r{at::seed{4}};
    for (float& v : x) v = r.uniform(0.0f, 1.0f);
    const float* y = net.forward_raw(x.data(), 4, true);
    const std::vector<float> before(y, y + 40);
    for (float v : before) CHECK(std::isfinite(v));

    // one SGD step against labels 0..3 lowers the loss on the same batch
    const std::vector<int> labels{0, 1, 2, 3};
    std::vector<float> dy(40);
    const double loss0 = at::cross_entropy(before.data(), labels.data(), 4, 10, dy.data());
    net.zero_grad();
    net.backward_raw(dy.data());
    at::sgd opt{.lr = 0.05f};
    opt.step(net.params(), net.grads());
    const double loss1 = at::cross_entropy(net.forward_raw(x.data(), 4, true), labels.data(), 4, 10);
    CHECK(loss1 < loss0);
}
