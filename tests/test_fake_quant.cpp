// Fake quantization for QAT: forward values, the clipped straight-through gradient and its mask, bit-exact
// against torch.fake_quantize_per_tensor_affine / _per_channel_affine (PyTorch 1.13), and hand values.
#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <vector>

#include "archetype/compress/fake_quant.hpp"
#include "support/quant_golden.hpp"

namespace q = archetype::quant;
using archetype::test::count_bit_mismatches;
using archetype::test::count_mismatches;

template <class Range, class Granularity>
void check_fake_quant_case(const archetype::test::quant_case& c, std::size_t& masked_negative_zeros) {
    using fq = q::fake_quantizer<q::round_half_even_mul_inverse, Range, Granularity>;
    const auto& x = c.f32("x");
    const auto& dy = c.f32("dy");
    typename Granularity::params p{};
    q::channel_layout layout{1, 1, x.size()};
    if constexpr (std::is_same_v<Granularity, q::per_channel>) {
        const auto l = c.sizes("layout");
        layout = {l.at(0), l.at(1), l.at(2)};
        p.scale = c.f32("scale");
        for (auto z : c.i32("zero_point")) p.zero_point.push_back(static_cast<std::int32_t>(z));
    } else {
        p = {c.float_bits("scale"), static_cast<std::int32_t>(c.integer("zero_point"))};
    }
    REQUIRE(layout.size() == x.size());
    std::vector<float> y(x.size()), dx(x.size()), dx_from_mask(x.size());
    std::vector<std::uint8_t> mask(x.size());
    fq::forward(x.data(), y.data(), layout, p, mask.data());
    fq::backward(x.data(), dy.data(), dx.data(), layout, p);
    fq::backward_with_mask(mask.data(), dy.data(), dx_from_mask.data(), x.size());
    CHECK(count_bit_mismatches(y, c.f32("y"), "y") == 0);
    CHECK(count_mismatches(mask, c.i32("mask"), "mask") == 0);
    CHECK(count_bit_mismatches(dx, c.f32("dx"), "dx") == 0);  // including −0.0 where a negative dy is masked
    CHECK(count_bit_mismatches(dx_from_mask, c.f32("dx"), "dx from the mask") == 0);
    // the inputs reach both sides of the mask
    std::size_t inside = 0;
    for (auto m : mask) inside += m;
    CHECK(inside > 0);
    CHECK(inside < mask.size());
    for (float v : c.f32("dx")) masked_negative_zeros += std::bit_cast<std::uint32_t>(v) == 0x80000000u;
}

TEST_CASE("golden: fake quantization forward, mask and backward match PyTorch 1.13 bit for bit") {
    const auto cases = archetype::test::load_quant_golden("fake_quant");
    std::size_t per_tensor = 0, per_channel = 0, masked_negative_zeros = 0;
    for (const auto& c : cases) {
        CAPTURE(c.name);
        archetype::test::with_range(c.get("range"), [&](auto tag) {
            using range = typename decltype(tag)::type;
            if (c.has("layout")) {
                ++per_channel;
                check_fake_quant_case<range, q::per_channel>(c, masked_negative_zeros);
            } else {
                ++per_tensor;
                check_fake_quant_case<range, q::per_tensor>(c, masked_negative_zeros);
            }
        });
    }
    CHECK(per_tensor == 12);
    CHECK(per_channel == 5);
    CHECK(masked_negative_zeros > 0);  // the sign of a masked gradient is part of what is compared
}

TEST_CASE("the straight-through mask switches exactly at quant_min and quant_max") {
    using fq = q::fake_quantizer<q::pytorch_rounding, q::uint8_range>;
    const q::qparams p{1.0f, 0};
    // 255.4 → 255 (inside), 255.5 → 256 (half to even: outside), −0.5 → 0 (inside), −0.6 → −1 (outside)
    const float x[] = {255.4f, 255.5f, 254.5f, -0.5f, -0.6f, 1e9f, -1e9f, 12.5f};
    const float dy[] = {1, 2, 3, 4, 5, 6, 7, 8};
    float y[8], dx[8];
    std::uint8_t mask[8];
    fq::forward(x, y, 8, p, mask);
    fq::backward(x, dy, dx, 8, p);
    CHECK(std::vector<float>(y, y + 8) == std::vector<float>{255, 255, 254, 0, 0, 255, 0, 12});
    CHECK(std::vector<int>(mask, mask + 8) == std::vector<int>{1, 0, 1, 1, 0, 0, 0, 1});
    CHECK(std::vector<float>(dx, dx + 8) == std::vector<float>{1, 0, 3, 4, 0, 0, 0, 8});
}

TEST_CASE("fake quantization with TFLite rounding and a narrow range") {
    using fq = q::fake_quantizer<q::tflite_rounding, q::int8_narrow_range>;
    const q::qparams p{0.5f, 0};
    const float x[] = {1.25f, -1.25f, 0.25f, -63.75f, -63.5f, 63.5f};  // ties of x / 0.5: 2.5, −2.5, 0.5, ...
    float y[6];
    std::uint8_t mask[6];
    fq::forward(x, y, 6, p, mask);
    CHECK(std::vector<float>(y, y + 6) == std::vector<float>{1.5f, -1.5f, 0.5f, -63.5f, -63.5f, 63.5f});
    // −63.75 / 0.5 = −127.5 → −128, outside [−127, 127]; −63.5 → −127 and 63.5 → 127, inside
    CHECK(std::vector<int>(mask, mask + 6) == std::vector<int>{1, 1, 1, 0, 1, 1});
}

TEST_CASE("fake quantizers check their parameters") {
    using fq = q::fake_quantizer<q::pytorch_rounding, q::int4_range>;
    using fc = q::fake_quantizer<q::pytorch_rounding, q::int4_range, q::per_channel>;
    const float x[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    float y[4];
    CHECK_THROWS_AS(fq::forward(x, y, 4, {0.0f, 0}), archetype::error);
    CHECK_THROWS_AS(fq::forward(x, y, 4, {0.1f, 8}), archetype::error);  // int4: zero point in [−8, 7]
    CHECK_THROWS_AS(fq::backward(x, x, y, 4, {0.1f, -9}), archetype::error);
    const q::channel_qparams three{{0.1f, 0.1f, 0.1f}, {0, 0, 0}};
    CHECK_THROWS_AS(fc::forward(x, y, q::channel_layout{1, 2, 2}, three), archetype::error);
    const q::channel_qparams bad{{0.1f, 0.1f}, {0, 0, 0}};
    CHECK_THROWS_AS(fc::forward(x, y, q::channel_layout{1, 2, 2}, bad), archetype::error);
}
