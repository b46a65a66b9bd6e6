// Vectorised average pooling (kernels/pool.hpp) against the one-window-at-a-time reference twins, bit
// for bit, forward and backward, over strides 1–3, padding with and without count_include_pad, odd
// planes and rows shorter than a vector; and global average pooling's SIMD kernel (each arch the build
// has) against its scalar twin for planes of 1 to 56×56 values, plus against a double-precision mean
// (relative 1e-6).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "archetype/core/rng.hpp"
#include "archetype/kernels/pool.hpp"
#include "support/random_data.hpp"

namespace k = archetype::kernels;
using test_support::uniform_vector;

namespace {

template <k::pool2d_geometry G, bool IncludePad>
void check_avg(std::uint64_t seed) {
    const std::size_t in = std::size_t(G.c) * G.h * G.w, out = std::size_t(G.c) * G.ho() * G.wo();
    const auto x = uniform_vector(in, seed, -3.0f, 3.0f), dy = uniform_vector(out, seed + 1, -3.0f, 3.0f);
    std::vector<float> yr(out), yv(out, 5.0f), dxr(in), dxv(in, 5.0f);
    k::avg_pool_forward_reference<G, IncludePad>(x.data(), yr.data());
    k::avg_pool_forward<G, IncludePad>(x.data(), yv.data());
    k::avg_pool_backward_reference<G, IncludePad>(dy.data(), dxr.data());
    k::avg_pool_backward<G, IncludePad>(dy.data(), dxv.data());
    CHECK(yr == yv);
    CHECK(dxr == dxv);
}

template <k::pool2d_geometry G>
void check_both(std::uint64_t seed) {
    check_avg<G, true>(seed);
    check_avg<G, false>(seed + 10);
}

}  // namespace

TEST_CASE("average pooling: vectorised kernels equal the reference loops bit for bit") {
    check_both<k::pool2d_geometry{3, 8, 8, 2, 2, 0}>(1);
    check_both<k::pool2d_geometry{5, 7, 9, 2, 2, 0}>(2);     // odd plane: last row/column dropped
    check_both<k::pool2d_geometry{4, 13, 11, 3, 1, 1}>(3);   // NB-201's avg_pool 3×3 s1 p1, odd plane
    check_both<k::pool2d_geometry{2, 32, 37, 3, 1, 1}>(4);   // rows longer than a vector, with a tail
    check_both<k::pool2d_geometry{3, 15, 17, 3, 2, 1}>(5);   // stride 2 with padding
    check_both<k::pool2d_geometry{2, 19, 23, 5, 3, 2}>(6);   // stride 3, pad 2
    check_both<k::pool2d_geometry{1, 3, 3, 3, 1, 0}>(7);     // one window
    check_both<k::pool2d_geometry{2, 6, 40, 4, 1, 2}>(8);    // even window with padding: Ho = H + 1
}

namespace {

template <class Run>
int global_mismatches(Run run) {
    int bad = 0;
    for (std::size_t hw : {1, 2, 7, 15, 16, 17, 31, 49, 196, 3136}) {
        const std::size_t c = 3;
        const auto x = uniform_vector(c * hw, hw, -3.0f, 3.0f);
        std::vector<float> ys(c), yv(c);
        k::global_avg_pool_forward_scalar(x.data(), ys.data(), c, hw);
        run(x.data(), yv.data(), c, hw);
        bad += ys != yv;
        for (std::size_t i = 0; i < c; ++i) {
            double sum = 0;
            for (std::size_t j = 0; j < hw; ++j) sum += x[i * hw + j];
            bad += std::abs(double(ys[i]) - sum / double(hw)) > 1e-6 * std::max(1.0, std::abs(sum / double(hw)));
        }
    }
    return bad;
}

}  // namespace

TEST_CASE("global average pooling: SIMD equals the scalar twin bit for bit, and the double mean") {
    CHECK(global_mismatches([](const float* x, float* y, std::size_t c, std::size_t hw) {
              k::global_avg_pool_forward(x, y, c, hw);
          }) == 0);
#if defined(ARCHETYPE_SIMD_AVX512F)
    CHECK(global_mismatches([](const float* x, float* y, std::size_t c, std::size_t hw) {
              k::global_avg_pool_forward_simd<xsimd::avx512f>(x, y, c, hw);
          }) == 0);
#endif
#if defined(ARCHETYPE_SIMD_HAS_FMA3_AVX2)
    CHECK(global_mismatches([](const float* x, float* y, std::size_t c, std::size_t hw) {
              k::global_avg_pool_forward_simd<xsimd::fma3<xsimd::avx2>>(x, y, c, hw);
          }) == 0);
#endif
}
