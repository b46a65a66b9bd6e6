// The reference networks of blocks/classic_nets.hpp: shapes, parameter and MAC counts computed by hand
// (so a change to a definition that every example and benchmark shares cannot pass unnoticed).
#include <doctest/doctest.h>

#include "archetype/blocks/classic_nets.hpp"
#include "archetype/graph/network.hpp"

namespace at = archetype;
using at::shape;

using lenet_t = at::network<shape{1, 28, 28}, at::lenet5>;
using cnn_t = at::network<shape{1, 28, 28}, at::small_cnn>;

// LeNet-5: conv 6·25 + 6, conv 16·6·25 + 16, dense 256·120 + 120, 120·84 + 84, 84·10 + 10.
static_assert(lenet_t::param_count == 156 + 2416 + 30840 + 10164 + 850);
// MACs: 24·24·6·25 + 8·8·16·150 + 256·120 + 120·84 + 84·10.
static_assert(lenet_t::total_cost.macs == 86400 + 153600 + 30720 + 10080 + 840);
static_assert(lenet_t::output_shape == shape{10, 1, 1});

// small CNN: conv weights 16·9, 32·16·9, 64·32·9 (no bias), batch norm γ, β per channel, dense 3136·10 + 10.
static_assert(cnn_t::param_count == 144 + 4608 + 18432 + 2 * (16 + 32 + 64) + 31370);
// MACs of the convolutions (28², 14², 7² outputs) and of the dense layer.
static_assert(cnn_t::total_cost.macs >= 28 * 28 * 16 * 9 + 14 * 14 * 32 * 144 + 7 * 7 * 64 * 288 + 3136 * 10);

TEST_CASE("the classic networks run: LeNet-5 and the small CNN map a batch of images to 10 logits") {
    lenet_t lenet(at::seed{1});
    cnn_t cnn(at::seed{2});
    std::vector<float> x(2 * 28 * 28);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i % 29) / 29.0f;
    const float* a = lenet.forward_raw(x.data(), 2, false);
    const float* b = cnn.forward_raw(x.data(), 2, false);
    // Different samples give different logits (the networks read their input).
    CHECK(std::vector<float>(a, a + 10) != std::vector<float>(a + 10, a + 20));
    CHECK(std::vector<float>(b, b + 10) != std::vector<float>(b + 10, b + 20));
}
