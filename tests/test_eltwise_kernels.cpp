// SIMD activation kernels (kernels/eltwise.hpp) against their scalar twins, on every arch this CPU build
// has, over odd sizes (vector tails of every length) and inputs that hit the kinks exactly, ±∞ and NaN:
// the piecewise functions must agree bit for bit (NaN where the twin gives NaN); sigmoid and tanh, whose
// SIMD exp/tanh differ from libm, within 4 ulp-sized steps (relative 5e-7, absolute 1e-30).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "archetype/core/rng.hpp"
#include "archetype/kernels/eltwise.hpp"

namespace k = archetype::kernels;

namespace {

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
const std::size_t sizes[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 257};

// Uniform in [−9, 9], with the kinks (−3, 0, 3, 6), ±0, ±∞ and (when `nan`) NaN sprinkled in.
std::vector<float> inputs(std::size_t n, std::uint64_t seed, bool nan) {
    archetype::rng g(archetype::seed{seed});
    const float special[] = {-3.0f, 0.0f, -0.0f, 3.0f, 6.0f, std::numeric_limits<float>::infinity(),
                             -std::numeric_limits<float>::infinity(), std::nanf("")};
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = g.uniform(-9.0f, 9.0f);
        if (i % 5 == 2) v[i] = special[(i / 5) % (nan ? 8 : 7)];
    }
    return v;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); }
bool close(float a, float b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return a == b || std::abs(a - b) <= 5e-7f * std::max(std::abs(a), std::abs(b)) + 1e-30f;
}

// Counts elements where the SIMD kernels on Arch differ from the scalar twin (forward, then backward
// fed with the scalar forward's output so both see the same y).
template <class F, class Arch>
int mismatches(bool exact) {
    int bad = 0;
    std::uint64_t seed = 11;
    for (std::size_t n : sizes) {
        const auto x = inputs(n, ++seed, exact), dy = inputs(n, ++seed, false);
        std::vector<float> ys(n), yv(n, -1.0f), dxs(n), dxv(n, -1.0f);
        k::eltwise_forward_scalar<F>(x.data(), ys.data(), n);
        k::eltwise_forward_simd<F, Arch>(x.data(), yv.data(), n);
        k::eltwise_backward_scalar<F>(x.data(), ys.data(), dy.data(), dxs.data(), n);
        k::eltwise_backward_simd<F, Arch>(x.data(), ys.data(), dy.data(), dxv.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
            bad += exact ? !same_bits(ys[i], yv[i]) : !close(ys[i], yv[i]);
            bad += exact ? !same_bits(dxs[i], dxv[i]) : !close(dxs[i], dxv[i]);
        }
    }
    // in place (y = x, dx = dy), as a caller may do
    auto x = inputs(37, 99, exact), dy = inputs(37, 98, false);
    std::vector<float> ys(37), dxs(37);
    k::eltwise_forward_scalar<F>(x.data(), ys.data(), 37);
    k::eltwise_backward_scalar<F>(x.data(), ys.data(), dy.data(), dxs.data(), 37);
    k::eltwise_backward_simd<F, Arch>(x.data(), ys.data(), dy.data(), dy.data(), 37);
    k::eltwise_forward_simd<F, Arch>(x.data(), x.data(), 37);
    for (std::size_t i = 0; i < 37; ++i) {
        bad += exact ? !same_bits(ys[i], x[i]) : !close(ys[i], x[i]);
        bad += exact ? !same_bits(dxs[i], dy[i]) : !close(dxs[i], dy[i]);
    }
    return bad;
}

template <class Arch>
void check_arch() {
    CHECK(mismatches<k::relu_fn, Arch>(true) == 0);
    CHECK(mismatches<k::relu6_fn, Arch>(true) == 0);
    CHECK(mismatches<k::hard_swish_fn, Arch>(true) == 0);
    CHECK(mismatches<k::hard_sigmoid_fn, Arch>(true) == 0);
    CHECK(mismatches<k::sigmoid_fn, Arch>(false) == 0);
    CHECK(mismatches<k::tanh_fn, Arch>(false) == 0);
}
#endif

}  // namespace

TEST_CASE("the activations the layers use take the SIMD path when the build has one") {
    CHECK(k::eltwise_vectorized<k::relu_fn>() == k::simd_enabled);
    CHECK(k::eltwise_vectorized<k::tanh_fn>() == k::simd_enabled);
}

#if defined(ARCHETYPE_SIMD_AVX512F)
TEST_CASE("activations: AVX-512 kernels equal the scalar twins (bitwise where piecewise), every tail length") {
    check_arch<xsimd::avx512f>();
}
#endif
#if defined(ARCHETYPE_SIMD_HAS_FMA3_AVX2)
TEST_CASE("activations: AVX2 kernels equal the scalar twins (bitwise where piecewise), every tail length") {
    check_arch<xsimd::fma3<xsimd::avx2>>();
}
#endif

TEST_CASE("the relu kernel gives exact values at chosen points, NaN kept as std::max keeps it") {
    const float x[5] = {-1.0f, 0.0f, 2.5f, std::nanf(""), -0.0f};
    float y[5];
    k::eltwise_forward<k::relu_fn>(x, y, 5);
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == 0.0f);
    CHECK(y[2] == 2.5f);
    CHECK(y[3] == 0.0f);  // relu(NaN): x > 0 is false, as PyTorch's threshold
    CHECK(y[4] == 0.0f);
    float r6[1];
    const float nan[1] = {std::nanf("")};
    k::eltwise_forward<k::relu6_fn>(nan, r6, 1);
    CHECK(std::isnan(r6[0]));  // std::min(std::max(NaN, 0), 6) is NaN
}
