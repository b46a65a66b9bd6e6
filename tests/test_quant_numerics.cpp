// Quantization numerics: range policies, qparams, rounding policies (quantize/dequantize bit-exact against
// PyTorch 1.13 and the TFLite reference formula), and requantization (fixed-point helpers against hand values).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "archetype/compress/quantize.hpp"
#include "archetype/core/rng.hpp"
#include "support/quant_golden.hpp"

namespace q = archetype::quant;
using archetype::test::type_tag;

static_assert(q::int8_full_range::qmin == -128 && q::int8_full_range::qmax == 127);
static_assert(q::int8_narrow_range::qmin == -127 && q::int8_narrow_range::qmax == 127);
static_assert(q::uint8_range::qmin == 0 && q::uint8_range::qmax == 255);
// PyTorch 1.13's symmetric zero points: 0 signed, 128 on quint8's default range, floor(mid) on a custom one
static_assert(q::uint8_range::symmetric_zero_point == 128);
static_assert(q::uint8_reduced_range::symmetric_zero_point == 63);
static_assert(q::uint4_range::symmetric_zero_point == 7);
static_assert(q::int8_full_range::symmetric_zero_point == 0 && q::int4_range::symmetric_zero_point == 0);

constexpr float k_inf = std::numeric_limits<float>::infinity();
constexpr float k_nan = std::numeric_limits<float>::quiet_NaN();

TEST_CASE("choose_qparams follows PyTorch's rule: clamp around 0, eps floor, symmetric midpoints") {
    // affine uint8 over [-1, 3]: scale 4/255, zero point 0 − round(−1 / scale) = round(63.75) = 64
    CHECK(q::choose_qparams<q::uint8_range>(-1.0f, 3.0f) == q::qparams{4.0f / 255.0f, 64});
    // min is clamped to <= 0 and max to >= 0: [0.5, 2] quantizes like [0, 2]
    CHECK(q::choose_qparams<q::uint8_range>(0.5f, 2.0f) == q::qparams{2.0f / 255.0f, 0});
    CHECK(q::choose_qparams<q::int8_full_range>(-2.0f, -0.5f) == q::qparams{2.0f / 255.0f, 127});
    // symmetric: max(|min|, max) over half the range (127.5 on the full int8 range, 127 on the narrow one)
    CHECK(q::choose_qparams<q::int8_full_range, q::symmetric>(-2.54f, 1.0f) == q::qparams{2.54f / 127.5f, 0});
    CHECK(q::choose_qparams<q::int8_narrow_range, q::symmetric>(-2.54f, 1.0f) == q::qparams{2.54f / 127.0f, 0});
    CHECK(q::choose_qparams<q::uint8_range, q::symmetric>(-1.0f, 3.0f) == q::qparams{3.0f / 127.5f, 128});
    CHECK(q::choose_qparams<q::uint4_range, q::symmetric>(-1.0f, 3.0f) == q::qparams{3.0f / 7.5f, 7});
    // min == max == 0: the scale is floored at float32's eps and the zero point is qmin (affine)
    CHECK(q::choose_qparams<q::uint8_range>(0.0f, 0.0f) == q::qparams{0x1p-23f, 0});
    CHECK(q::choose_qparams<q::int8_full_range>(0.0f, 0.0f) == q::qparams{0x1p-23f, -128});
    CHECK(q::choose_qparams<q::uint8_range, q::symmetric>(0.0f, 0.0f) == q::qparams{0x1p-23f, 128});
    // min == max != 0 is an ordinary one-sided range
    CHECK(q::choose_qparams<q::uint8_range>(3.0f, 3.0f) == q::qparams{3.0f / 255.0f, 0});
    // nothing observed: PyTorch's default
    CHECK(q::choose_qparams<q::uint8_range>(k_inf, -k_inf) == q::qparams{1.0f, 0});
}

TEST_CASE("choose_qparams rejects reversed, NaN, infinite and overflowing ranges") {
    CHECK_THROWS_AS(q::choose_qparams<q::uint8_range>(1.0f, -1.0f), archetype::error);
    CHECK_THROWS_AS(q::choose_qparams<q::uint8_range>(k_nan, 1.0f), archetype::error);
    CHECK_THROWS_AS(q::choose_qparams<q::uint8_range>(-1.0f, k_inf), archetype::error);
    CHECK_THROWS_AS(q::choose_qparams<q::uint8_range>(-3e38f, 1e38f), archetype::error);  // PyTorch: scale inf
    CHECK(q::choose_qparams<q::uint8_range, q::symmetric>(-3e38f, 1e38f).scale == 3e38f / 127.5f);
    const std::vector<float> lo{-1.0f, 0.0f}, hi{1.0f};
    CHECK_THROWS_AS((q::choose_qparams<q::uint8_range>(lo, hi)), archetype::error);
}

TEST_CASE("PyTorch rounding: half to even after multiplying by the inverse scale, zero point after rounding") {
    using qz = q::quantizer<q::round_half_even_mul_inverse, q::int8_full_range>;
    const q::qparams unit{1.0f, 0};
    CHECK(qz::quantize_value(2.5f, unit) == 2);
    CHECK(qz::quantize_value(-2.5f, unit) == -2);
    CHECK(qz::quantize_value(0.5f, unit) == 0);
    CHECK(qz::quantize_value(-0.5f, unit) == 0);
    CHECK(qz::quantize_value(1.5f, unit) == 2);
    // the zero point is added after rounding: 1 + round(2.5) = 3, not round(3.5) = 4
    CHECK(qz::quantize_value(2.5f, {1.0f, 1}) == 3);
    CHECK(qz::quantize_value(1.25f, {0.5f, -1}) == 1);  // 1.25 · 2 = 2.5 → 2, − 1
    // clamping; NaN goes to qmin (PyTorch's AVX2 path); infinities to their bound
    CHECK(qz::quantize_value(1000.0f, unit) == 127);
    CHECK(qz::quantize_value(-1000.0f, unit) == -128);
    CHECK(qz::quantize_value(k_inf, unit) == 127);
    CHECK(qz::quantize_value(-k_inf, unit) == -128);
    CHECK(qz::quantize_value(k_nan, unit) == -128);
    CHECK(qz::dequantize_value(-128, {0.5f, 3}) == -65.5f);
}

TEST_CASE("TFLite rounding: half away from zero after dividing by the scale") {
    using qz = q::quantizer<q::round_half_away_div, q::int8_narrow_range>;
    const q::qparams unit{1.0f, 0};
    CHECK(qz::quantize_value(2.5f, unit) == 3);
    CHECK(qz::quantize_value(-2.5f, unit) == -3);
    CHECK(qz::quantize_value(0.5f, unit) == 1);
    CHECK(qz::quantize_value(-0.5f, unit) == -1);
    CHECK(qz::quantize_value(0.49999997f, unit) == 0);  // the largest float below 0.5
    CHECK(qz::quantize_value(-1000.0f, unit) == -127);  // the narrow range never produces -128
    CHECK(qz::quantize_value(2.5f, {1.0f, 1}) == 4);
}

TEST_CASE("quantizers check their parameters and per-channel shapes") {
    using qz = q::quantizer<q::pytorch_rounding, q::uint8_range>;
    using qc = q::quantizer<q::pytorch_rounding, q::int8_full_range, q::per_channel>;
    const float x[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    std::uint8_t u[4];
    std::int8_t s[4];
    CHECK_THROWS_AS(qz::quantize(x, u, 4, {0.0f, 0}), archetype::error);
    CHECK_THROWS_AS(qz::quantize(x, u, 4, {-1.0f, 0}), archetype::error);
    CHECK_THROWS_AS(qz::quantize(x, u, 4, {k_nan, 0}), archetype::error);
    CHECK_THROWS_AS(qz::quantize(x, u, 4, {k_inf, 0}), archetype::error);
    CHECK_THROWS_AS(qz::quantize(x, u, 4, {0.1f, 256}), archetype::error);
    CHECK_THROWS_AS(qz::quantize(x, u, 4, {0.1f, -1}), archetype::error);
    const q::channel_qparams two{{0.1f, 0.2f}, {0, 0}};
    CHECK_THROWS_AS(qc::quantize(x, s, q::channel_layout{1, 4, 1}, two), archetype::error);
    qc::quantize(x, s, q::channel_layout{1, 2, 2}, two);  // channel 0: x / 0.1, channel 1: x / 0.2
    CHECK(std::vector<int>(s, s + 4) == std::vector<int>{1, 2, 2, 2});
}

// A policy the golden cases must reject: PyTorch's rounding mode, but dividing by the scale.
struct round_half_even_div {
    static float factor(float scale) { return scale; }
    static float round_scaled(float x, float scale) { return std::nearbyint(x / scale); }
};

template <class Rounding, class Range>
void check_quantize_case(const archetype::test::quant_case& c, std::size_t& mul_div_differences) {
    using archetype::test::count_bit_mismatches;
    using archetype::test::count_mismatches;
    const auto& x = c.f32("x");
    std::vector<typename Range::storage> qv(x.size());
    std::vector<float> dq(x.size());
    if (c.has("layout")) {
        using qz = q::quantizer<Rounding, Range, q::per_channel>;
        const auto l = c.sizes("layout");
        const q::channel_layout layout{l.at(0), l.at(1), l.at(2)};
        q::channel_qparams p{c.f32("scale"), {}};
        for (auto z : c.i32("zero_point")) p.zero_point.push_back(static_cast<std::int32_t>(z));
        REQUIRE(layout.size() == x.size());
        qz::quantize(x.data(), qv.data(), layout, p);
        qz::dequantize(qv.data(), dq.data(), layout, p);
    } else {
        using qz = q::quantizer<Rounding, Range>;
        const q::qparams p{c.float_bits("scale"), static_cast<std::int32_t>(c.integer("zero_point"))};
        qz::quantize(x.data(), qv.data(), x.size(), p);
        qz::dequantize(qv.data(), dq.data(), x.size(), p);
        if (c.name.find("mul_vs_div") != std::string::npos)  // values where x·(1/s) and x/s round apart
            for (float v : x)
                mul_div_differences += q::quantizer<round_half_even_div, Range>::quantize_value(v, p) !=
                                       q::quantizer<Rounding, Range>::quantize_value(v, p);
    }
    CHECK(count_mismatches(qv, c.i32("q"), "q") == 0);
    CHECK(count_bit_mismatches(dq, c.f32("dequantized"), "dequantized") == 0);
}

TEST_CASE("golden: quantize and dequantize match PyTorch 1.13 and the TFLite formula bit for bit") {
    const auto cases = archetype::test::load_quant_golden("quantize");
    std::size_t pytorch = 0, tflite = 0, per_channel = 0, mul_div_differences = 0;
    for (const auto& c : cases) {
        CAPTURE(c.name);
        const bool is_pytorch = c.get("policy") == "pytorch";
        (is_pytorch ? pytorch : tflite) += 1;
        per_channel += c.has("layout");
        archetype::test::with_range(c.get("range"), [&](auto tag) {
            using range = typename decltype(tag)::type;
            if (is_pytorch) check_quantize_case<q::round_half_even_mul_inverse, range>(c, mul_div_differences);
            else check_quantize_case<q::round_half_away_div, range>(c, mul_div_differences);
        });
    }
    CHECK(pytorch == 14);
    CHECK(tflite == 12);
    CHECK(per_channel == 6);
    // On the 2 × 19 PyTorch "mul_vs_div" values, dividing by the scale would give another integer; on the
    // 3 × 13 TFLite ones, which already divide, half-even division agrees (they are not ties of x / s).
    CHECK(mul_div_differences == 38);
}

// ------------------------------------------------------------------------------------- requantization
TEST_CASE("saturating_rounding_doubling_high_mul: gemmlowp's values, saturation and ties toward +inf") {
    constexpr std::int32_t lo = std::numeric_limits<std::int32_t>::min();
    constexpr std::int32_t hi = std::numeric_limits<std::int32_t>::max();
    static_assert(q::saturating_rounding_doubling_high_mul(lo, lo) == hi);  // the one overflow
    CHECK(q::saturating_rounding_doubling_high_mul(lo, hi) == -2147483647);
    CHECK(q::saturating_rounding_doubling_high_mul(hi, hi) == 2147483646);
    CHECK(q::saturating_rounding_doubling_high_mul(lo, 1 << 30) == -1073741824);
    CHECK(q::saturating_rounding_doubling_high_mul(hi, lo) == -2147483647);
    // a · 2^30 / 2^31 = a / 2: ties go up
    CHECK(q::saturating_rounding_doubling_high_mul(1, 1 << 30) == 1);    // 0.5 → 1
    CHECK(q::saturating_rounding_doubling_high_mul(-1, 1 << 30) == 0);   // −0.5 → 0
    CHECK(q::saturating_rounding_doubling_high_mul(3, 1 << 30) == 2);    // 1.5 → 2
    CHECK(q::saturating_rounding_doubling_high_mul(-3, 1 << 30) == -1);  // −1.5 → −1
}

TEST_CASE("rounding_divide_by_pot: ties away from zero, exponents 0 and 31") {
    static_assert(q::rounding_divide_by_pot(3, 1) == 2);
    CHECK(q::rounding_divide_by_pot(-3, 1) == -2);
    CHECK(q::rounding_divide_by_pot(-5, 2) == -1);  // −1.25
    CHECK(q::rounding_divide_by_pot(-6, 2) == -2);  // −1.5
    CHECK(q::rounding_divide_by_pot(-2, 2) == -1);  // −0.5
    CHECK(q::rounding_divide_by_pot(2, 2) == 1);    // 0.5
    CHECK(q::rounding_divide_by_pot(std::numeric_limits<std::int32_t>::min(), 31) == -1);
    CHECK(q::rounding_divide_by_pot(std::numeric_limits<std::int32_t>::max(), 31) == 1);
    CHECK(q::rounding_divide_by_pot(-(1 << 30), 31) == -1);  // −0.5
    CHECK(q::rounding_divide_by_pot(-1, 31) == 0);
    CHECK(q::rounding_divide_by_pot(std::numeric_limits<std::int32_t>::min(), 0) ==
          std::numeric_limits<std::int32_t>::min());
}

TEST_CASE("quantize_multiplier: TFLite's mantissa and shift") {
    using qm = q::quantized_multiplier;
    CHECK(q::quantize_multiplier(0.5) == qm{1 << 30, 0});
    CHECK(q::quantize_multiplier(1.0) == qm{1 << 30, 1});
    CHECK(q::quantize_multiplier(0.75) == qm{1610612736, 0});
    CHECK(q::quantize_multiplier(0.1) == qm{1717986918, -3});
    CHECK(q::quantize_multiplier(3.0) == qm{1610612736, 2});
    CHECK(q::quantize_multiplier(0x1p-32) == qm{1 << 30, -31});
    CHECK(q::quantize_multiplier(0x1p-33) == qm{0, 0});              // flushed to zero
    CHECK(q::quantize_multiplier(1.0 - 0x1p-40) == qm{1 << 30, 1});  // rounds up to 1.0
    CHECK(q::quantize_multiplier(0.0) == qm{0, 0});
    CHECK_THROWS_AS(q::quantize_multiplier(-0.5), archetype::error);
    CHECK_THROWS_AS(q::quantize_multiplier(std::nan("")), archetype::error);
    CHECK_THROWS_AS(q::quantize_multiplier(0x1p31), archetype::error);
}

TEST_CASE("multiply_by_quantized_multiplier rounds twice, as TFLite's reference kernels") {
    const auto m = [](double r) { return q::quantize_multiplier(r); };
    CHECK(q::multiply_by_quantized_multiplier(5, m(0.25)) == 2);  // 1.25 → 2.5 → 3 → 1.5 → 2 (not 1)
    CHECK(q::multiply_by_quantized_multiplier(-5, m(0.25)) == -1);
    CHECK(q::multiply_by_quantized_multiplier(-6, m(0.25)) == -2);
    CHECK(q::multiply_by_quantized_multiplier(100, m(0.5)) == 50);
    CHECK(q::multiply_by_quantized_multiplier(3, m(0.5)) == 2);
    CHECK(q::multiply_by_quantized_multiplier(-3, m(0.5)) == -1);
    CHECK(q::multiply_by_quantized_multiplier(12345, m(0.1)) == 1235);
    CHECK(q::multiply_by_quantized_multiplier(-12345, m(0.1)) == -1235);
    CHECK(q::multiply_by_quantized_multiplier(10, m(3.0)) == 30);
    CHECK(q::multiply_by_quantized_multiplier(1 << 30, m(3.0)) == 1610612735);  // 2^32 saturates first
    CHECK(q::multiply_by_quantized_multiplier(std::numeric_limits<std::int32_t>::max(), m(0x1p-31)) == 1);
    CHECK(q::multiply_by_quantized_multiplier(std::numeric_limits<std::int32_t>::min(), m(0x1p-31)) == -1);
}

TEST_CASE("requantization policies: float multiplier (PyTorch) and fixed point (TFLite)") {
    using fp = q::float_requantization;
    using fx = q::fixed_point_requantization;
    CHECK(fp::make(0.02f, 0.005f, 0.1f) == (0.02f * 0.005f) / 0.1f);  // float arithmetic, as fbgemm
    const float half = fp::make(0.5f, 1.0f, 1.0f);
    CHECK(fp::apply(3, half) == 2);   // 1.5 → 2
    CHECK(fp::apply(5, half) == 2);   // 2.5 → 2 (half to even)
    CHECK(fp::apply(-5, half) == -2);
    CHECK(fp::apply(16777217, fp::make(1.0f, 1.0f, 1.0f)) == 16777216);  // float(acc) rounds first
    CHECK(fx::apply(5, fx::make(0.5f, 0.5f, 1.0f)) == 2);
    CHECK(q::requantize<fp, q::int8_full_range>(1000, half, 10) == 127);
    CHECK(q::requantize<fp, q::int8_full_range>(-1000, half, 10) == -128);
    CHECK(q::requantize<fp, q::uint8_range>(-5, half, 10) == 8);
    CHECK(q::requantize<fx, q::int8_narrow_range>(-1000, fx::make(0.5f, 1.0f, 1.0f), 0) == -127);
    CHECK(q::requantize<fx, q::int8_full_range>(std::numeric_limits<std::int32_t>::min(),
                                                fx::make(0.5f, 1.0f, 1.0f), 127) == -128);
    CHECK_THROWS_AS(fp::make(0.0f, 1.0f, 1.0f), archetype::error);
    CHECK_THROWS_AS(fx::make(1.0f, 1.0f, -1.0f), archetype::error);

    // Both are within their rounding error of the exact product: the float policy 0.5 plus float's relative
    // error (three roundings: s_in·s_w, /s_out, acc·m), the fixed-point one 0.5 plus the first rounding's
    // 0.5·2^shift (double rounding) plus the Q0.31 mantissa's relative error.
    archetype::rng g(archetype::seed{5});
    std::size_t disagreements = 0;
    for (int i = 0; i < 20000; ++i) {
        const auto acc = static_cast<std::int32_t>(g.below(1u << 24)) - (1 << 23);
        const float s_in = g.uniform(0.001f, 0.1f), s_w = g.uniform(0.001f, 0.1f), s_out = g.uniform(0.01f, 1.0f);
        const double exact = double(acc) * double(s_in) * double(s_w) / double(s_out);
        const auto mx = fx::make(s_in, s_w, s_out);
        const auto a = fp::apply(acc, fp::make(s_in, s_w, s_out)), b = fx::apply(acc, mx);
        REQUIRE(std::abs(double(a) - exact) <= 0.5 + 3.0 * 0x1p-24 * std::abs(exact));
        REQUIRE(mx.shift <= 0);
        REQUIRE(std::abs(double(b) - exact) <= 0.5 + std::ldexp(0.5, mx.shift) + 0x1p-30 * std::abs(exact));
        disagreements += a != b;
    }
    CHECK(disagreements < 400);  // 2% (both are round-to-nearest of nearly the same real number)
}
