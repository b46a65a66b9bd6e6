// Post-training int8 quantization of whole networks (compress/int8_network.hpp): LeNet-5 and a small
// conv-BN-ReLU CNN (with ReLU6, avg pool, depthwise conv and global average pooling) built from random
// weights and, for the CNN, random batch-norm statistics. On 512 random inputs never seen in calibration
// (measured: worst relative error 0.003 / 0.003 fixed-point / 0.005 CNN, argmax agreement 100%):
//   - the int8 logits stay within 2% of each sample's fp32 logit range, and the argmax agrees on
//     at least 99% of the samples;
//   - every compiled kernel path gives bit-identical logits (the kernels equal their scalar twins), and a
//     sample's logits do not depend on the batch it is run in;
//   - the fixed-point (TFLite) requantization policy meets the same bounds;
//   - the dispatch reports the path taken; a batch norm that cannot be folded is refused by name.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "archetype/blocks/classic_nets.hpp"
#include "archetype/compress/int8_network.hpp"
#include "archetype/core/rng.hpp"

namespace at = archetype;
namespace k = archetype::kernels;
namespace q = archetype::quant;

namespace {

using lenet_t = at::network<at::shape{1, 28, 28}, at::lenet5>;

using small_cnn =
    at::sequential<at::conv2d<8, 3, 1, 1>, at::batch_norm, at::relu, at::max_pool<2>,
                   at::sequential<at::conv2d<16, 3, 1, 1, 1, 1, false>, at::batch_norm, at::relu6>, at::avg_pool<2>,
                   at::depthwise_conv2d<3, 1, 1>, at::relu, at::global_avg_pool, at::flatten, at::dense<10>>;
using cnn_t = at::network<at::shape{3, 16, 16}, small_cnn>;

std::vector<float> random_inputs(std::size_t count, std::uint64_t seed) {
    at::rng g{at::seed{seed}};
    std::vector<float> x(count);
    for (auto& v : x) v = g.uniform(0.0f, 1.0f);
    return x;
}

struct comparison {
    double worst_relative = 0;  // max |int8 − fp32| / (max − min of that sample's fp32 logits)
    double agreement = 0;       // fraction of samples with the same argmax
};

template <class Net, class Q>
comparison compare(Net& net, Q& qnet, const std::vector<float>& x, std::size_t n) {
    constexpr std::size_t classes = Net::output_shape.size();
    const float* yf = net.forward_raw(x.data(), n, false);
    std::vector<float> fp(yf, yf + n * classes);
    const float* yq = qnet.forward(x.data(), n);
    comparison c;
    std::size_t same = 0;
    for (std::size_t s = 0; s < n; ++s) {
        const float* a = fp.data() + s * classes;
        const float* b = yq + s * classes;
        const auto [mn, mx] = std::minmax_element(a, a + classes);
        for (std::size_t j = 0; j < classes; ++j)
            c.worst_relative = std::max(c.worst_relative, std::abs(double(a[j]) - b[j]) / (*mx - *mn));
        same += std::max_element(a, a + classes) - a == std::max_element(b, b + classes) - b;
    }
    c.agreement = double(same) / double(n);
    return c;
}

template <class Net, class Requant = q::float_requantization>
void check_network(Net& net, double tolerance) {
    constexpr std::size_t in = Net::input_shape.size(), classes = Net::output_shape.size(), n = 512;
    const auto calib = random_inputs(256 * in, 11);
    const auto test = random_inputs(n * in, 12);
    q::int8_network<Net, Requant> qnet(net, calib.data(), 256);
    CHECK(qnet.path() == k::int8_best_path());
    const auto c = compare(net, qnet, test, n);
    MESSAGE("worst relative error " << c.worst_relative << ", argmax agreement " << c.agreement);
    CHECK(c.worst_relative <= tolerance);
    CHECK(c.agreement >= 0.99);

    const float* best = qnet.forward(test.data(), n);
    const std::vector<float> want(best, best + n * classes);
    for (auto p : k::int8_compiled_paths()) {
        q::int8_network<Net, Requant> other(net, calib.data(), 256, p);
        CHECK(std::string(other.path_name()) == k::int8_path_name(p));
        const float* y = other.forward(test.data(), n);
        CHECK(std::memcmp(y, want.data(), want.size() * sizeof(float)) == 0);
        const float* one = other.forward(test.data() + 7 * in, 1);  // sample 7 alone
        CHECK(std::memcmp(one, want.data() + 7 * classes, classes * sizeof(float)) == 0);
    }
}

struct bn_finder {
    std::vector<std::pair<std::size_t, std::size_t>> at;  // (w offset, s offset) of each batch_norm
    template <class Op>
    void leaf(std::size_t w, std::size_t s) {
        if constexpr (std::is_same_v<typename Op::descriptor, at::batch_norm>) at.emplace_back(w, s);
    }
};

}  // namespace

TEST_CASE("int8 network: LeNet-5 post-training quantization") {
    lenet_t net{at::seed{3}};
    check_network(net, 0.02);
    check_network<lenet_t, q::fixed_point_requantization>(net, 0.02);
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    const auto calib = random_inputs(64 * 784, 1);
    CHECK(std::string(q::int8_network<lenet_t>(net, calib.data(), 64).path_name()) == "vnni512");
#endif
}

TEST_CASE("int8 network: conv-BN-ReLU CNN with folded batch norm, ReLU6, avg pool, depthwise, GAP") {
    cnn_t net{at::seed{4}};
    // non-trivial batch-norm: γ, β, running mean and variance away from the identity
    at::rng g{at::seed{5}};
    bn_finder finder;
    at::visit_leaves<cnn_t::op>(finder);
    REQUIRE(finder.at.size() == 2);
    for (auto [w, s] : finder.at) {
        const std::size_t c = w == finder.at[0].first ? 8 : 16;
        for (std::size_t i = 0; i < c; ++i) {
            net.params()[w + i] = g.uniform(0.5f, 1.5f);
            net.params()[w + c + i] = g.uniform(-0.2f, 0.2f);
            net.state()[s + i] = g.uniform(-0.2f, 0.2f);
            net.state()[s + c + i] = g.uniform(0.05f, 0.3f);
        }
    }
    check_network(net, 0.02);
}

TEST_CASE("int8 network: a batch norm that cannot be folded is refused with a message naming it") {
    using bad = at::network<at::shape{1, 8, 8}, at::sequential<at::conv2d<4, 3>, at::relu, at::batch_norm, at::flatten,
                                                                at::dense<3>>>;
    bad net{at::seed{6}};
    const auto calib = random_inputs(8 * 64, 2);
    try {
        q::int8_network<bad> qnet(net, calib.data(), 8);
        FAIL("expected archetype::error");
    } catch (const at::error& e) {
        CHECK(std::string(e.what()).find("archetype::batch_norm") != std::string::npos);
    }
}
