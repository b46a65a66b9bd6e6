// The Fashion-MNIST search space: decisions and cardinality counted by hand, params and MACs of
// specific networks computed by hand, the extremes of the space, genotype operators staying inside
// it, and proxy training of one of its networks being deterministic and thread-count independent.
// Training uses the one-width space (same blocks, "w8" trunk) to keep this file's compile time small.
#include <doctest/doctest.h>

#include <cmath>

#include "archetype/estimate/proxy_training.hpp"
#include "archetype/space/fashion_mnist.hpp"
#include "archetype/space/genotype_text.hpp"

namespace at = archetype;
using sp = at::fashion_mnist_space;

// width 3 × (down1 3 × 4 × 4) × (down2 3 × 4 × 4) × head 2
static_assert(sp::decision_count == 8);
static_assert(sp::cardinality == at::big_count{3 * 3 * 4 * 4 * 3 * 4 * 4 * 2});
static_assert(sp::cardinality == at::big_count{13824});
static_assert(sp::decisions[0].name == "width" && sp::decisions[1].name == "down1" && sp::decisions[2].name == "s1b1" &&
              sp::decisions[3].name == "s1b2" && sp::decisions[4].name == "down2" && sp::decisions[5].name == "s2b1" &&
              sp::decisions[6].name == "s2b2" && sp::decisions[7].name == "head");
static_assert(sp::decisions[0].size == 3 && sp::decisions[1].size == 3 && sp::decisions[2].size == 4 &&
              sp::decisions[7].size == 2);
static_assert(sp::network_type::output_shape == at::shape{10, 1, 1});

constexpr sp::genotype make(std::initializer_list<std::uint16_t> v) {
    sp::genotype g{};
    std::size_t i = 0;
    for (auto x : v) g[i++] = x;
    return g;
}
// Alternatives: width w8 w12 w16; down conv3 pool sep3; block skip conv3 sep3 mb3; head gap flat.
constexpr sp::genotype smallest = make({0, 2, 0, 0, 2, 0, 0, 0});
constexpr sp::genotype hand_cnn = make({2, 1, 0, 0, 1, 0, 0, 1});
constexpr sp::genotype mixed = make({1, 0, 3, 1, 2, 3, 0, 0});
constexpr sp::genotype largest = make({2, 0, 1, 1, 0, 1, 1, 1});

// smallest: stem 8·9·784 = 56,448; sep3 s2 8→16: dw 8·9·196 = 14,112 + pw 16·8·196 = 25,088;
// sep3 s2 16→32: dw 16·9·49 = 7,056 + pw 32·16·49 = 25,088; dense 32·10 = 320.
static_assert(sp::cost_of(smallest).macs == 56'448 + 14'112 + 25'088 + 7'056 + 25'088 + 320);
// params: stem 72 + BN 16; dw 72 + 16, pw 128 + 32; dw 144 + 32, pw 512 + 64; dense 320 + 10.
static_assert(sp::cost_of(smallest).params == 88 + 248 + 752 + 330);
// The budget the search must beat: LeNet-5's 281,640 MACs is above the space's smallest network.
static_assert(sp::cost_of(smallest).macs < 281'640);

// hand CNN: stem 16·9·784; pool, conv 32·16·9·196; pool, conv 64·32·9·49; dense 3136·10.
static_assert(sp::cost_of(hand_cnn).macs == 112'896 + 903'168 + 903'168 + 31'360);
static_assert(sp::cost_of(hand_cnn).params == (144 + 32) + (4'608 + 64) + (18'432 + 128) + (31'360 + 10));
static_assert(sp::cost_of(hand_cnn).macs < 2'000'000);  // the hand CNN's budget

// mixed (w12): stem 12·9·784 = 84,672; conv3 s2 12→24: 24·12·9·196 = 508,032;
//   mb3 24 (hidden 72): 72·24·196 + 72·9·196 + 24·72·196 = 804,384;  conv3 24: 24·24·9·196 = 1,016,064;
//   sep3 s2 24→48: 24·9·49 + 48·24·49 = 67,032;  mb3 48 (hidden 144): 144·48·49 + 144·9·49 + 48·144·49
//   = 740,880;  skip;  gap, dense 48·10 = 480.
static_assert(sp::cost_of(mixed).macs == 84'672 + 508'032 + 804'384 + 1'016'064 + 67'032 + 740'880 + 480);
// params: stem 108 + 24; conv3 s2 2,592 + 48; mb3 1,728 + 144 + 648 + 144 + 1,728 + 48; conv3 5,184 + 48;
// sep3 216 + 48 + 1,152 + 96; mb3 6,912 + 288 + 1,296 + 288 + 6,912 + 96; dense 480 + 10.
static_assert(sp::cost_of(mixed).params == 132 + 2'640 + 4'440 + 5'232 + 1'512 + 15'792 + 490);
static_assert(sp::cost_of(mixed).macs <= 5'000'000);  // within the search's default budget

// largest: w16 with dense 3×3 everywhere and the flatten head: 112,896 + 903,168 + 2·(32·32·9·196)
// + 64·32·9·49 + 2·(64·64·9·49) + 64·49·10.
static_assert(sp::cost_of(largest).macs == 112'896 + 903'168 + 2 * 1'806'336 + 903'168 + 2 * 1'806'336 + 31'360);

TEST_CASE("every member's MACs lie between the smallest and the largest computed by hand") {
    std::size_t lo = SIZE_MAX, hi = 0, within_5m = 0, below_lenet = 0;
    for (std::uint64_t i = 0; i < 13824; ++i) {
        const sp::genotype g = sp::from_index(at::big_count{i});
        const std::size_t m = sp::cost_of(g).macs;
        lo = std::min(lo, m);
        hi = std::max(hi, m);
        within_5m += m <= 5'000'000;
        below_lenet += m <= 281'640;
    }
    CHECK(lo == sp::cost_of(smallest).macs);
    CHECK(hi == sp::cost_of(largest).macs);
    // every w8 network fits 5 M MACs (the largest has 2.3 M), and not every network does.
    CHECK(within_5m > 13824 / 3);
    CHECK(within_5m < 13824);
    CHECK(below_lenet > 0);
}

TEST_CASE("the text form names the alternatives") {
    CHECK(at::to_text<sp>(hand_cnn) ==
          "width=w16,down1=pool,s1b1=skip,s1b2=skip,down2=pool,s2b1=skip,s2b2=skip,head=flat");
    CHECK(at::parse_text<sp>("width=w12,down1=conv3,s1b1=mb3,s1b2=conv3,down2=sep3,s2b1=mb3,s2b2=skip,head=gap") ==
          mixed);
    CHECK_THROWS_WITH_AS(at::parse_text<sp>("width=w32,down1=conv3,s1b1=mb3,s1b2=conv3,down2=sep3,s2b1=mb3,"
                                            "s2b2=skip,head=gap"),
                         doctest::Contains("w8, w12, w16"), at::error);
}

TEST_CASE("sample, mutate and crossover stay in the space") {
    at::rng r{at::seed{5}};
    for (int t = 0; t < 2000; ++t) {
        const sp::genotype a = sp::sample(r), b = sp::sample(r);
        CHECK_NOTHROW(sp::validate(a));
        for (std::size_t k = 1; k <= 3; ++k) {
            const sp::genotype m = sp::mutate(a, r, k);
            CHECK_NOTHROW(sp::validate(m));
            std::size_t changed = 0;
            for (std::size_t i = 0; i < sp::decision_count; ++i) changed += m[i] != a[i];
            CHECK(changed == k);
        }
        const sp::genotype c = sp::crossover(a, b, r);
        for (std::size_t i = 0; i < sp::decision_count; ++i) CHECK((c[i] == a[i] || c[i] == b[i]));
    }
}

// ---- proxy training on the one-width space --------------------------------------------------------

using narrow = at::fashion_mnist_space_t<10, at::fm::widths<"w8", 8, 16, 32>>;
static_assert(narrow::decision_count == 8 && narrow::cardinality == at::big_count{13824 / 3});

// Class k: a bright 6×6 square at one of ten places, on faint seeded noise.
at::dataset synthetic(std::size_t n, std::uint64_t seed) {
    at::dataset d;
    d.sample = at::shape{1, 28, 28};
    d.classes = 10;
    d.images.resize(n * 784);
    d.labels.resize(n);
    at::rng r{at::seed{seed}};
    for (std::size_t i = 0; i < n; ++i) {
        const int k = int(r.below(10));
        d.labels[i] = k;
        float* x = d.images.data() + i * 784;
        for (int p = 0; p < 784; ++p) x[p] = 0.2f * float(r.uniform());
        const int top = 2 + (k / 5) * 12, left = 1 + (k % 5) * 5;
        for (int y = top; y < top + 6; ++y)
            for (int xx = left; xx < left + 6 && xx < 28; ++xx) x[y * 28 + xx] = 1.0f;
    }
    return d;
}

TEST_CASE("proxy training of a member is deterministic and independent of the thread count") {
    const at::dataset train = synthetic(192, 1), validation = synthetic(96, 2);
    const narrow::genotype g = at::parse_text<narrow>(
        "width=w8,down1=conv3,s1b1=mb3,s1b2=sep3,down2=pool,s2b1=conv3,s2b2=skip,head=gap");
    at::proxy_training<narrow> eval{.train = &train, .validation = &validation, .epochs = 2, .batch_size = 32,
                                    .optimizer = at::sgd{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f,
                                                         .nesterov = true},
                                    .seed = at::seed{3}, .lr_schedule = at::schedule::cosine(2)};
    const at::proxy_result serial = eval(g);
    at::thread_pool two(2), three(3);
    eval.pool = &two;
    const at::proxy_result with_two = eval(g);
    eval.pool = &three;
    const at::proxy_result with_three = eval(g);
    eval.pool = nullptr;
    const at::proxy_result again = eval(g);

    REQUIRE_FALSE(serial.diverged);
    CHECK(std::isfinite(serial.train_loss));
    CHECK(serial.train_loss < std::log(10.0));  // it learned something in two epochs
    CHECK(serial.macs == narrow::cost_of(g).macs);
    CHECK(serial.macs == sp::cost_of(at::parse_text<sp>(at::to_text<narrow>(g))).macs);  // same network
    for (const at::proxy_result* r : {&with_two, &with_three, &again}) {
        CHECK(r->validation_accuracy == serial.validation_accuracy);
        CHECK(r->validation_loss == serial.validation_loss);  // bit for bit
        CHECK(r->train_loss == serial.train_loss);
    }
    eval.seed = at::seed{4};
    CHECK(eval(g).validation_loss != serial.validation_loss);  // the seed matters: the equality above is not vacuous
}
