// Quantization-aware training (compress/qat.hpp) on tiny networks:
//   - the QAT forward equals, bit for bit, the fp32 layers run on inputs and weights fake-quantized by hand
//     with quant::fake_quantizer (BN folded as the int8 conversion folds it, per-channel symmetric int8
//     weights, affine u8 activations with moving-average observers, first batch = its min/max);
//   - one backward gives the clipped straight-through gradient computed independently: the weight gradient
//     of a batch-of-one dense layer exactly (dy · x_q), through a fake-quantized hidden activation whose
//     out-of-range values get zero gradient, and through the BN fold (γ, β) to 1e-6 relative;
//   - observers follow the moving average with c = 0.01 and stop when frozen;
//   - after QAT training with archetype::train, the int8 network converted from the learned qparams gives
//     outputs within one output quantization step of the QAT forward (u8 outputs), for a plain CNN, a
//     residual network and one with an MBConv block (depthwise, ReLU6, skip) and a concat (measured: at
//     most one step, on 1 of 384 outputs).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "archetype/blocks/mbconv.hpp"
#include "archetype/compress/qat.hpp"
#include "archetype/core/rng.hpp"
#include "archetype/train/optimizer.hpp"
#include "archetype/train/trainer.hpp"

namespace at = archetype;
namespace q = archetype::quant;

namespace {

using act_fq = q::fake_quantizer<q::pytorch_rounding, q::uint8_range>;
using w_fq = q::fake_quantizer<q::pytorch_rounding, q::int8_narrow_range, q::per_channel>;

std::vector<float> random_values(std::size_t count, std::uint64_t seed, float lo = 0.0f, float hi = 1.0f) {
    at::rng g{at::seed{seed}};
    std::vector<float> x(count);
    for (auto& v : x) v = g.uniform(lo, hi);
    return x;
}

// W (out × depth) fake-quantized per row, symmetric int8 [-127, 127], qparams from each row's min/max.
std::vector<float> fake_quantize_rows(const float* w, std::size_t out, std::size_t depth) {
    std::vector<float> lo(out), hi(out), y(out * depth);
    for (std::size_t o = 0; o < out; ++o) {
        lo[o] = *std::min_element(w + o * depth, w + (o + 1) * depth);
        hi[o] = *std::max_element(w + o * depth, w + (o + 1) * depth);
    }
    w_fq::forward(w, y.data(), {1, out, depth}, q::choose_qparams<q::int8_narrow_range, q::symmetric>(lo, hi));
    return y;
}

// Fake-quantizes v in place with a fresh observer's qparams (the first batch sets min and max).
void fake_quantize_first_batch(std::vector<float>& v) {
    q::moving_average_min_max_observer<> o;
    o.observe(v.data(), v.size());
    act_fq::forward(v.data(), v.data(), v.size(), o.calculate_qparams());
}

template <at::shape In, class L>
std::vector<float> run_layer(const std::vector<float>& params, const std::vector<float>& x, std::size_t n) {
    at::network<In, L> net{at::seed{1}};
    std::copy(params.begin(), params.end(), net.params().begin());
    const float* y = net.forward_raw(x.data(), n, false);
    return {y, y + n * at::network<In, L>::output_shape.size()};
}

using conv_net = at::sequential<at::conv2d<3, 3, 1, 1, 1, 1, false>, at::batch_norm, at::relu, at::max_pool<2>,
                                at::flatten, at::dense<4>, at::relu6, at::dense<3>>;
using conv_t = at::network<at::shape{1, 6, 6}, conv_net>;

}  // namespace

TEST_CASE("qat forward equals fp32 layers on hand fake-quantized inputs and BN-folded weights (exact)") {
    conv_t net{at::seed{7}};
    float* p = net.params().data();  // conv W 27 | γ 3, β 3 | dense1 W 36, b 4 | dense2 W 12, b 3
    float* st = net.state().data();  // mean 3, var 3
    for (int c = 0; c < 3; ++c) p[27 + c] = 0.8f + 0.2f * c, p[30 + c] = 0.1f * c - 0.1f, st[c] = 0.05f * c,
                                 st[3 + c] = 0.5f + 0.3f * c;
    constexpr std::size_t n = 5;
    const auto x = random_values(n * 36, 3);
    q::qat_network<conv_t> qat(net);
    const float* yq = qat.forward_raw(x.data(), n, true);
    const std::vector<float> got(yq, yq + n * 3);

    std::vector<float> h = x;
    fake_quantize_first_batch(h);
    std::vector<float> wf(p, p + 27), bias(3);
    for (std::size_t o = 0; o < 3; ++o) {
        const float k = p[27 + o] / std::sqrt(st[3 + o] + at::batch_norm::eps);
        for (std::size_t r = 0; r < 9; ++r) wf[o * 9 + r] *= k;
        bias[o] = (0.0f - st[o]) * k + p[30 + o];
    }
    h = run_layer<at::shape{1, 6, 6}, at::conv2d<3, 3, 1, 1, 1, 1, false>>(fake_quantize_rows(wf.data(), 3, 9), h, n);
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = std::max(h[i] + bias[(i / 36) % 3], 0.0f);
    fake_quantize_first_batch(h);
    h = run_layer<at::shape{3, 6, 6}, at::max_pool<2>>({}, h, n);
    auto w1 = fake_quantize_rows(p + 33, 4, 27);
    w1.insert(w1.end(), p + 33 + 108, p + 33 + 112);
    h = run_layer<at::shape{27, 1, 1}, at::dense<4>>(w1, h, n);
    for (auto& v : h) v = std::min(std::max(v, 0.0f), 6.0f);
    fake_quantize_first_batch(h);
    auto w2 = fake_quantize_rows(p + 145, 3, 4);
    w2.insert(w2.end(), p + 157, p + 160);
    const auto want = run_layer<at::shape{4, 1, 1}, at::dense<3>>(w2, h, n);  // logits: not fake-quantized
    REQUIRE(want.size() == got.size());
    for (std::size_t i = 0; i < want.size(); ++i) CHECK(got[i] == want[i]);
}

TEST_CASE("qat backward: clipped straight-through gradients through hidden fake quantization and the BN fold") {
    using tiny = at::sequential<at::flatten, at::dense<3>, at::relu, at::dense<2, false>, at::batch_norm>;
    using tiny_t = at::network<at::shape{4, 1, 1}, tiny>;
    tiny_t net{at::seed{8}};
    float* p = net.params().data();  // W1 12, b1 3 | W2 6 | γ 2, β 2
    float* st = net.state().data();
    p[21] = 1.3f, p[22] = 0.7f, p[23] = 0.2f, p[24] = -0.1f, st[0] = 0.3f, st[1] = -0.2f, st[2] = 0.4f, st[3] = 2.0f;
    q::qat_network<tiny_t> qat(net);
    // observers learn a narrow range on small inputs, then freeze: larger inputs then leave the range
    const auto small = random_values(64 * 4, 4, 0.0f, 0.2f);
    qat.forward_raw(small.data(), 64, true);
    qat.freeze_observers();
    for (int i : {8, 9, 10, 11, 14}) p[i] *= 20.0f;  // hidden unit 2 now leaves its observed range
    const std::vector<float> x{0.15f, 0.05f, 0.2f, 0.1f};
    const float* y = qat.forward_raw(x.data(), 1, true);
    (void)y;
    const std::vector<float> dy{0.5f, -1.25f};
    qat.zero_grad();
    qat.backward_raw(dy.data());
    const auto r = qat.ranges();

    std::vector<float> xq = x;
    act_fq::forward(x.data(), xq.data(), 4, r.input);
    const auto w1q = fake_quantize_rows(p, 3, 4);
    std::vector<float> hpre(3), h(3);
    std::vector<std::uint8_t> mask(3);
    for (std::size_t o = 0; o < 3; ++o) {
        hpre[o] = p[12 + o];
        for (std::size_t i = 0; i < 4; ++i) hpre[o] += w1q[o * 4 + i] * xq[i];
        h[o] = std::max(hpre[o], 0.0f);
    }
    act_fq::forward(h.data(), h.data(), 3, r.leaves[2], mask.data());  // leaf 2: the relu after dense 1
    MESSAGE("hidden pre-activations " << hpre[0] << " " << hpre[1] << " " << hpre[2] << ", clip mask "
                                      << int(mask[0]) << int(mask[1]) << int(mask[2]));
    CHECK(std::count(mask.begin(), mask.end(), 0) >= 1);  // some hidden unit is clipped: the test bites
    CHECK((mask[1] && hpre[1] > 0.0f));                    // and unit 1 passes its gradient
    std::vector<float> k(2), w2f(6);
    for (std::size_t o = 0; o < 2; ++o) {
        k[o] = p[21 + o] / std::sqrt(st[2 + o] + at::batch_norm::eps);
        for (std::size_t j = 0; j < 3; ++j) w2f[o * 3 + j] = p[15 + o * 3 + j] * k[o];
    }
    const auto w2q = fake_quantize_rows(w2f.data(), 2, 3);
    const float* g = qat.grads().data();
    for (std::size_t o = 0; o < 2; ++o) {
        const float sigma = std::sqrt(st[2 + o] + at::batch_norm::eps);
        float dk = dy[o] * (0.0f - st[o]);
        for (std::size_t j = 0; j < 3; ++j) {
            CHECK(g[15 + o * 3 + j] == dy[o] * h[j] * k[o]);  // dW2 = dy · h_q · k (weight mask all 1)
            dk += dy[o] * h[j] * p[15 + o * 3 + j];
        }
        CHECK(g[21 + o] == doctest::Approx(dk / sigma).epsilon(1e-6));  // dγ
        CHECK(g[23 + o] == dy[o]);                                     // dβ
    }
    for (std::size_t j = 0; j < 3; ++j) {
        float dh = 0.0f;
        for (std::size_t o = 0; o < 2; ++o) dh += dy[o] * w2q[o * 3 + j];
        dh = mask[j] && hpre[j] > 0.0f ? dh : 0.0f;  // clipped STE, then ReLU
        CHECK(g[12 + j] == doctest::Approx(dh).epsilon(1e-6));
        for (std::size_t i = 0; i < 4; ++i) CHECK(g[j * 4 + i] == doctest::Approx(dh * xq[i]).epsilon(1e-6));
        if (!mask[j]) CHECK(g[12 + j] == 0.0f);
    }
}

TEST_CASE("qat observers: moving average with c = 0.01, frozen on request") {
    using one = at::network<at::shape{2, 1, 1}, at::sequential<at::flatten, at::dense<2>, at::relu, at::dense<2>>>;
    one net{at::seed{9}};
    q::qat_network<one> qat(net);
    const std::vector<float> a{0.0f, 1.0f}, b{-1.0f, 3.0f};
    qat.forward_raw(a.data(), 1, true);
    qat.forward_raw(b.data(), 1, true);
    q::moving_average_min_max_observer<> o;
    o.observe(a.data(), 2);
    o.observe(b.data(), 2);
    CHECK(qat.ranges().input == o.calculate_qparams());
    qat.freeze_observers();
    const std::vector<float> c{-5.0f, 9.0f};
    qat.forward_raw(c.data(), 1, true);
    CHECK(qat.ranges().input == o.calculate_qparams());
}

namespace {
template <class Net>
void check_conversion(Net& net, std::size_t classes) {
    constexpr std::size_t in = Net::input_shape.size();
    at::dataset d;
    d.sample = Net::input_shape;
    d.classes = classes;
    const auto images = random_values(256 * in, 10);
    d.images.resize(images.size());
    std::copy(images.begin(), images.end(), d.images.data());
    at::rng g{at::seed{11}};
    for (std::size_t i = 0; i < 256; ++i) d.labels.push_back(int(g.below(classes)));
    q::qat_network<Net> qat(net);
    at::train(qat, d, at::sgd{.lr = 0.01f, .momentum = 0.9f}, {.epochs = 2, .batch_size = 32});
    qat.freeze_observers();
    const auto x = random_values(128 * in, 12);
    const float* yq = qat.forward_raw(x.data(), 128, false);
    const std::vector<float> want(yq, yq + 128 * Net::output_shape.size());
    auto int8 = qat.convert();
    const float* y8 = int8.forward(x.data(), 128);
    const float step = qat.ranges().leaves.back().scale;  // the last relu's output qparams
    double worst = 0;
    std::size_t exact = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        worst = std::max(worst, double(std::abs(y8[i] - want[i])) / step);
        exact += y8[i] == want[i];
    }
    MESSAGE("int8 vs QAT: worst " << worst << " output steps, " << exact << " of " << want.size() << " equal");
    CHECK(worst <= 1.0 + 1e-4);
}
}  // namespace

TEST_CASE("qat conversion: the int8 network from QAT's qparams is within one output step of the QAT forward") {
    using plain = at::network<at::shape{1, 8, 8}, at::sequential<at::conv2d<4, 3, 1, 1, 1, 1, false>, at::batch_norm,
                                                                 at::relu, at::max_pool<2>, at::flatten, at::dense<6>,
                                                                 at::relu, at::dense<3>, at::relu>>;
    plain a{at::seed{12}};
    check_conversion(a, 3);
    using res = at::network<at::shape{1, 8, 8},
                            at::sequential<at::conv2d<4, 3, 1, 1, 1, 1, false>, at::batch_norm, at::relu,
                                           at::residual<at::conv2d<4, 3, 1, 1, 1, 1, false>, at::batch_norm>, at::relu,
                                           at::global_avg_pool, at::flatten, at::dense<3>, at::relu>>;
    res b{at::seed{13}};
    check_conversion(b, 3);
    using mb = at::network<at::shape{2, 8, 8},
                           at::sequential<at::conv_bn_relu<4, 3>, at::mbconv<4, 3, 1, 2, at::relu6>,
                                          at::concat<at::conv_bn<2, 1>, at::identity>, at::relu, at::global_avg_pool,
                                          at::flatten, at::dense<3>, at::relu>>;
    mb c{at::seed{14}};
    check_conversion(c, 3);
}
