// The int8 GEMM (kernels/int8_gemm.hpp): every compiled path (vnni512, avx2, scalar), in both orientations
// (dense: V holds the s8 weights, channels along columns; conv: V holds the u8 im2col, channels along rows),
// over many shapes with odd sizes and tails of every width, must give EXACTLY (tolerance 0) what
// compress/quantize.hpp's requantize (float and fixed-point policies) gives on the reference int32
// accumulators, with the per-channel bias and the ReLU/ReLU6 clamps; the f32 (dequantizing) output must
// equal float(acc + bias) · scale bit for bit. Nothing outside the output matrix may be written.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "archetype/compress/quantize.hpp"
#include "archetype/core/rng.hpp"
#include "archetype/kernels/int8_gemm.hpp"

namespace at = archetype;
namespace k = archetype::kernels;
namespace q = archetype::quant;

namespace {

struct problem {
    std::size_t pixels, channels, depth;  // rows of the activation matrix, weight rows, reduction depth
    std::vector<std::uint8_t> x;          // pixels × depth
    std::vector<std::int8_t> w;           // channels × depth
    std::vector<std::int32_t> bias, acc;  // acc: pixels × channels, reference (without bias)
    std::vector<float> mult, scale;
    std::vector<std::int32_t> mantissa, shift;
    std::int32_t zp, lo, hi;

    problem(std::size_t p, std::size_t c, std::size_t d, std::uint64_t seed, bool extreme = false, float boost = 1.0f)
        : pixels(p),
          channels(c),
          depth(d),
          x(p * d),
          w(c * d),
          bias(c),
          acc(p * c),
          mult(c),
          scale(c),
          mantissa(c),
          shift(c) {
        at::rng g{at::seed{seed}};
        for (auto& v : x) v = extreme ? 255 : std::uint8_t(g.below(256));
        for (auto& v : w) v = extreme ? -128 : std::int8_t(int(g.below(256)) - 128);
        for (std::size_t o = 0; o < c; ++o) {
            bias[o] = std::int32_t(g.below(200001)) - 100000;
            // output scale chosen so that |acc|·mult spans about ±300: rounding ties and both clamps occur
            const float s_in = g.uniform(0.005f, 0.05f), s_w = g.uniform(0.001f, 0.02f);
            const float s_out = s_in * s_w * float(d) * 20000.0f / 300.0f * g.uniform(0.5f, 2.0f) / boost;
            mult[o] = q::float_requantization::make(s_in, s_w, s_out);
            const auto m = q::fixed_point_requantization::make(s_in, s_w, s_out);
            mantissa[o] = m.mantissa;
            shift[o] = m.shift;
            scale[o] = s_in * s_w;
        }
        zp = std::int32_t(g.below(256));
        lo = g.below(2) ? zp : 0;
        hi = g.below(2) ? std::min(255, zp + 90) : 255;
        k::int8_gemm_reference(p, c, d, x.data(), w.data(), acc.data());
    }
    std::uint8_t want_float_policy(std::size_t px, std::size_t ch) const {
        const std::int32_t t = acc[px * channels + ch] + bias[ch];
        return std::uint8_t(
            std::clamp<int>(q::requantize<q::float_requantization, q::uint8_range>(t, mult[ch], zp), lo, hi));
    }
    std::uint8_t want_fixed_policy(std::size_t px, std::size_t ch) const {
        const std::int32_t t = acc[px * channels + ch] + bias[ch];
        return std::uint8_t(std::clamp<int>(
            q::requantize<q::fixed_point_requantization, q::uint8_range>(t, {mantissa[ch], int(shift[ch])}, zp), lo,
            hi));
    }
    k::int8_epilogue epilogue(bool fixed) const {
        k::int8_epilogue e;
        e.bias = bias.data();
        if (fixed) {
            e.mantissa = mantissa.data();
            e.shift = shift.data();
        } else {
            e.multiplier = mult.data();
        }
        e.zero_point = zp;
        e.lo = lo;
        e.hi = hi;
        e.dequant_scale = scale.data();
        return e;
    }
};

enum class output_kind { float_policy, fixed_policy, dequantized };

// Runs one orientation on one path; returns the number of mismatching outputs (guard bytes included).
template <bool Conv, class Out>
std::size_t run(const problem& pr, k::int8_path path, output_kind kind) {
    const std::size_t rows = Conv ? pr.channels : pr.pixels, cols = Conv ? pr.pixels : pr.channels;
    const std::size_t lda = k::int8_a_stride(path, pr.depth), eb = k::int8_elem_bytes(path);
    std::vector<std::uint8_t> a(rows * lda * eb + 64), v(k::int8_v_size(path, pr.depth, cols) + 64);
    if (Conv) {
        k::int8_pack_a(path, pr.w.data(), pr.depth, rows, pr.depth, a.data());
        k::int8_pack_v_transposed(path, pr.x.data(), pr.depth, pr.depth, cols, v.data());
    } else {
        k::int8_pack_a(path, pr.x.data(), pr.depth, rows, pr.depth, a.data());
        k::int8_pack_v_transposed(path, pr.w.data(), pr.depth, pr.depth, cols, v.data());
    }
    const std::size_t ldc = cols + 3;  // strided output: the gap must stay untouched
    const Out guard = Out(77);
    std::vector<Out> c(rows * ldc + 1, guard);
    k::int8_gemm_args g{
        rows, cols, pr.depth, a.data(), lda, v.data(), c.data(), ldc, pr.epilogue(kind == output_kind::fixed_policy)};
    k::int8_gemm<Conv, Conv, Out>(path, g);
    std::size_t bad = 0;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < ldc; ++j) {
            const std::size_t px = Conv ? j : r, ch = Conv ? r : j;
            Out want = guard;
            if (j < cols) {
                if constexpr (std::is_same_v<Out, float>) {
                    want = float(pr.acc[px * pr.channels + ch] + pr.bias[ch]) * pr.scale[ch];
                } else {
                    want =
                        kind == output_kind::fixed_policy ? pr.want_fixed_policy(px, ch) : pr.want_float_policy(px, ch);
                }
            }
            if (std::memcmp(&want, &c[r * ldc + j], sizeof(Out)) != 0) ++bad;
        }
    if (c.back() != guard) ++bad;
    return bad;
}

void check_all(const problem& pr) {
    for (auto path : k::int8_compiled_paths()) {
        INFO("path " << k::int8_path_name(path) << " pixels=" << pr.pixels << " channels=" << pr.channels
                     << " depth=" << pr.depth << " zp=" << pr.zp << " lo=" << pr.lo << " hi=" << pr.hi);
        CHECK(run<false, std::uint8_t>(pr, path, output_kind::float_policy) == 0);
        CHECK(run<true, std::uint8_t>(pr, path, output_kind::float_policy) == 0);
        CHECK(run<false, std::uint8_t>(pr, path, output_kind::fixed_policy) == 0);
        CHECK(run<true, std::uint8_t>(pr, path, output_kind::fixed_policy) == 0);
        CHECK(run<false, float>(pr, path, output_kind::dequantized) == 0);
        CHECK(run<true, float>(pr, path, output_kind::dequantized) == 0);
    }
}

}  // namespace

TEST_CASE("int8 gemm: the paths this build has include the best one for the flags") {
    const auto paths = k::int8_compiled_paths();
    CHECK(paths.front() == k::int8_path::scalar);
    CHECK(paths.back() == k::int8_best_path());
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    CHECK(k::int8_best_path() == k::int8_path::vnni512);
#endif
}

TEST_CASE("int8 gemm: every path equals requantize() of the reference accumulators, many shapes") {
    std::uint64_t seed = 1;
    for (std::size_t px : {1, 2, 5, 6, 7, 13, 24})
        for (std::size_t ch : {1, 3, 6, 8, 15, 16, 17, 33, 50, 65})
            for (std::size_t d : {1, 3, 4, 5, 25, 150}) check_all(problem(px, ch, d, seed++));
}

TEST_CASE("int8 gemm: larger shapes cross several register tiles in both directions") {
    check_all(problem(64, 120, 256, 7));
    check_all(problem(576, 6, 25, 8));
    check_all(problem(64, 16, 150, 9));
    check_all(problem(37, 84, 121, 10));
}

TEST_CASE("int8 gemm: extreme operands (255 × −128) accumulate without saturation") {
    // Σ = depth · 255 · (−128); vpmaddubsw would saturate its int16 pair sums, vpdpbusd and vpmaddwd must not.
    problem pr(3, 17, 4099, 11, true);
    CHECK(pr.acc[0] == 4099 * 255 * -128);
    check_all(pr);
}

TEST_CASE("int8 gemm: multipliers above 1 (positive fixed-point shifts) and int32 saturation") {
    // boosts 1e6 and 1e8: multipliers of 10^1..10^5, so the fixed-point policy shifts left (up to 2^16) and,
    // for the extreme operands, saturates acc · 2^shift
    for (float boost : {30.0f, 1e6f, 1e8f}) {
        check_all(problem(9, 37, 40, 13, false, boost));
        check_all(problem(3, 17, 300, 14, true, boost));
    }
}

TEST_CASE("int8 gemm: misuse throws archetype::error") {
    problem pr(2, 2, 2, 12);
    std::vector<std::uint8_t> buf(4096), out(16);
    k::int8_gemm_args g{2, 2, 2, buf.data(), 4, buf.data(), out.data(), 2, {}};
    CHECK_THROWS_AS((k::int8_gemm<false, false, std::uint8_t>(k::int8_path::scalar, g)), at::error);
    g.k = k::int8_max_depth + 1;
    g.e = pr.epilogue(false);
    CHECK_THROWS_AS((k::int8_gemm<false, false, std::uint8_t>(k::int8_path::scalar, g)), at::error);
}
