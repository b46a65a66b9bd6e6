// Post-training int8 quantization of networks with branches (compress/int8_network.hpp, int8_graph.hpp):
// residual adds (with a fused ReLU after the add), MBConv with its skip, a three-branch sum and a concat,
// and a member of the Fashion-MNIST search space (sep3 and mb3 blocks, the network quantized as its
// genotype). Weights are random, batch-norm γ, β and running statistics randomized away from the identity.
// On 512 random inputs never seen in calibration:
//   - every compiled kernel path gives bit-identical outputs to the scalar twins, and a sample's output does
//     not depend on its batch;
//   - the int8 logits stay within a stated fraction of each sample's fp32 logit range: bounds 0.05 and
//     0.04, measured 0.027 and 0.021. For scale: the stem conv-BN-ReLU alone before the same GAP + dense head
//     measures 0.017 (random BN statistics make the logit range small against the activation step), a
//     residual block adds about as much error as the plain block it wraps (0.017 vs 0.007 to 0.015 measured
//     per block), so the bounds allow the ~20 requantizations here; argmax agreement ≥ 98% (measured 100%);
//   - the join stage computes its documented formula exactly (3-branch sum, concat with a fused ReLU).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "archetype/blocks/mbconv.hpp"
#include "archetype/compress/int8_network.hpp"
#include "archetype/core/rng.hpp"
#include "archetype/space/fashion_mnist.hpp"
#include "archetype/space/genotype_text.hpp"

namespace at = archetype;
namespace k = archetype::kernels;
namespace q = archetype::quant;

namespace {

using branchy = at::sequential<
    at::conv_bn_relu<8, 3>,                                                          //
    at::residual<at::conv2d<8, 3, 1, 1, 1, 1, false>, at::batch_norm, at::relu,      //
                 at::conv2d<8, 3, 1, 1, 1, 1, false>, at::batch_norm>,               //
    at::relu,                                                                        // fused into the add
    at::mbconv<8, 3, 1, 3, at::relu>,                                                // with its skip
    at::sum<at::identity, at::conv_bn<8, 1>, at::sequential<at::avg_pool<3, 1, 1>>>,  // three branches
    at::concat<at::conv_bn_relu<4, 3, 2>, at::sequential<at::max_pool<2>, at::conv_bn<6, 1>>>, at::relu6,
    at::mbconv<12, 3, 1, 3, at::relu>,  // no skip (10 → 12 channels)
    at::global_avg_pool, at::flatten, at::dense<10>>;
using branchy_t = at::network<at::shape{3, 12, 12}, branchy>;

using narrow = at::fashion_mnist_space_t<10, at::fm::widths<"w8", 8, 16, 32>>;

std::vector<float> random_inputs(std::size_t count, std::uint64_t seed) {
    at::rng g{at::seed{seed}};
    std::vector<float> x(count);
    for (auto& v : x) v = g.uniform(0.0f, 1.0f);
    return x;
}

struct bn_randomizer {
    float* w;
    float* state;
    at::rng g{at::seed{5}};
    template <class Op>
    void leaf(std::size_t wo, std::size_t so) {
        if constexpr (std::is_same_v<typename Op::descriptor, at::batch_norm>) {
            const std::size_t c = Op::in.c;
            for (std::size_t i = 0; i < c; ++i) {
                w[wo + i] = g.uniform(0.5f, 1.5f);
                w[wo + c + i] = g.uniform(-0.2f, 0.2f);
                state[so + i] = g.uniform(-0.2f, 0.2f);
                state[so + c + i] = g.uniform(0.05f, 0.3f);
            }
        }
    }
};

template <class Net>
void randomize_batch_norms(Net& net) {
    bn_randomizer r{net.params().data(), net.state().data()};
    at::visit_leaves<typename Net::op>(r);
}

template <class Net>
void check_network(Net& net, double tolerance, double agreement) {
    constexpr std::size_t in = Net::input_shape.size(), classes = Net::output_shape.size(), n = 512;
    const auto calib = random_inputs(256 * in, 11);
    const auto test = random_inputs(n * in, 12);
    const float* yf = net.forward_raw(test.data(), n, false);
    const std::vector<float> fp(yf, yf + n * classes);

    q::int8_network<Net> qnet(net, calib.data(), 256);
    const float* yq = qnet.forward(test.data(), n);
    const std::vector<float> want(yq, yq + n * classes);
    double worst = 0;
    std::size_t same = 0;
    for (std::size_t s = 0; s < n; ++s) {
        const float* a = fp.data() + s * classes;
        const float* b = want.data() + s * classes;
        const auto [mn, mx] = std::minmax_element(a, a + classes);
        for (std::size_t j = 0; j < classes; ++j) worst = std::max(worst, std::abs(double(a[j]) - b[j]) / (*mx - *mn));
        same += std::max_element(a, a + classes) - a == std::max_element(b, b + classes) - b;
    }
    MESSAGE("worst relative error " << worst << ", argmax agreement " << double(same) / n << ", "
                                    << qnet.stage_count() << " stages");
    CHECK(worst <= tolerance);
    CHECK(double(same) / n >= agreement);

    for (auto p : k::int8_compiled_paths()) {
        q::int8_network<Net> other(net, calib.data(), 256, p);
        const float* y = other.forward(test.data(), n);
        CHECK(std::memcmp(y, want.data(), want.size() * sizeof(float)) == 0);
        const float* one = other.forward(test.data() + 7 * in, 1);  // sample 7 alone
        CHECK(std::memcmp(one, want.data() + 7 * classes, classes * sizeof(float)) == 0);
    }
    // Built from the calibrated ranges: the same network.
    q::int8_network<Net> again(net, qnet.ranges());
    CHECK(std::memcmp(again.forward(test.data(), n), want.data(), want.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("int8 network: residual adds, fused ReLU after the add, MBConv, three-branch sum, concat") {
    branchy_t net{at::seed{21}};
    randomize_batch_norms(net);
    const auto g = q::int8_graph_of<branchy_t, q::float_requantization>(net.state().data());
    CHECK(g.joins == 4);  // residual, mbconv skip, sum, concat (the last mbconv has no skip)
    check_network(net, 0.05, 0.98);
}

TEST_CASE("int8 network: a Fashion-MNIST space member with sep3 and mb3 blocks quantizes as its genotype") {
    narrow::network_type net{at::seed{22}};
    narrow::apply(net, at::parse_text<narrow>(
                           "width=w8,down1=sep3,s1b1=mb3,s1b2=sep3,down2=conv3,s2b1=mb3,s2b2=mb3,head=gap"));
    randomize_batch_norms(net);
    const auto g = q::int8_graph_of<narrow::network_type, q::float_requantization>(net.state().data());
    CHECK(g.joins == 3);  // the three mb3 skips
    check_network(net, 0.04, 0.98);
}

TEST_CASE("int8 join stage: three-branch sum and concat with a fused ReLU follow their formulas exactly") {
    const std::vector<q::qparams> in{{0.05f, 10}, {0.02f, 130}, {0.11f, 0}};
    std::vector<std::vector<std::uint8_t>> x(3, std::vector<std::uint8_t>(2 * 5));
    at::rng g{at::seed{9}};
    for (auto& v : x)
        for (auto& e : v) e = std::uint8_t(g.below(256));
    const std::uint8_t* xs[3] = {x[0].data(), x[1].data(), x[2].data()};
    const q::qparams out{0.2f, 40};

    q::int8_join_stage add(k::int8_path::scalar, false, in, {5, 5, 5}, out, q::fused_activation::none);
    std::vector<std::uint8_t> y(10);
    add.run(xs, y.data(), 2);
    for (std::size_t j = 0; j < 10; ++j) {
        float acc = float(x[0][j] - 10) * (0.05f / 0.2f);
        acc = std::fma(float(x[1][j] - 130), 0.02f / 0.2f, acc);
        acc = std::fma(float(x[2][j] - 0), 0.11f / 0.2f, acc);
        CHECK(int(y[j]) == std::clamp(int(std::nearbyint(acc)) + 40, 0, 255));
    }

    // concat of branch 0 (same qparams as the output: copied) and branch 1 (requantized), ReLU fused
    q::int8_join_stage cat(k::int8_path::scalar, true, {out, in[1]}, {2, 3}, out, q::fused_activation::relu);
    CHECK(cat.out_size == 5);
    std::vector<std::uint8_t> z(10);
    cat.run(xs, z.data(), 2);
    for (std::size_t s = 0; s < 2; ++s)
        for (std::size_t j = 0; j < 5; ++j) {
            const int got = z[s * 5 + j];
            if (j < 2) {
                CHECK(got == std::max<int>(x[0][s * 2 + j], 40));
            } else {
                const float v = float(x[1][s * 3 + j - 2] - 130) * (0.02f / 0.2f);
                CHECK(got == std::clamp(int(std::nearbyint(v)) + 40, 40, 255));
            }
        }
}
