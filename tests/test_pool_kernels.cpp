// The vectorised 2×2/stride-2 max-pool path (kernels/pool.hpp, max_pool_forward_2x2) against a plain
// loop written from the contract — the first maximal element of the window in row-major order wins, a
// NaN replaces the running maximum — on data full of ties, NaNs and infinities, for the LeNet-5 shapes
// and odd channel counts; then the backward pass routes dy to exactly those elements.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "archetype/core/rng.hpp"
#include "archetype/kernels/pool.hpp"

namespace k = archetype::kernels;

namespace {

// Values from a small set, so windows tie often; every 13th is NaN, every 17th ±∞.
std::vector<float> awkward_input(std::size_t n, std::uint64_t seed) {
    archetype::rng g(archetype::seed{seed});
    std::vector<float> v(n);
    const float inf = std::numeric_limits<float>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = float(int(g.uniform(0.0f, 4.0f))) - 2.0f;
        if (i % 13 == 5) v[i] = std::nanf("");
        if (i % 17 == 3) v[i] = (i % 2) ? inf : -inf;
    }
    return v;
}

template <k::pool2d_geometry G>
void check_2x2(std::uint64_t seed) {
    static_assert(k::max_pool_2x2<G>, "the geometry must take the 2x2 fast path");
    constexpr int Ho = G.ho(), Wo = G.wo();
    const auto x = awkward_input(std::size_t(G.c) * G.h * G.w, seed);
    std::vector<float> y(std::size_t(G.c) * Ho * Wo), arg(y.size());
    k::max_pool_forward<G>(x.data(), y.data(), arg.data());
    int mismatches = 0;
    for (int c = 0; c < G.c; ++c)
        for (int oh = 0; oh < Ho; ++oh)
            for (int ow = 0; ow < Wo; ++ow) {
                float m = -std::numeric_limits<float>::infinity();
                int best = 2 * oh * G.w + 2 * ow;
                for (int dh = 0; dh < 2; ++dh)
                    for (int dw = 0; dw < 2; ++dw) {
                        const int i = (2 * oh + dh) * G.w + 2 * ow + dw;
                        const float v = x[std::size_t(c) * G.h * G.w + i];
                        if (v > m || std::isnan(v)) m = v, best = i;
                    }
                const std::size_t at = (std::size_t(c) * Ho + oh) * Wo + ow;
                const bool same_value = std::isnan(m) ? std::isnan(y[at]) : y[at] == m;
                mismatches += !same_value || arg[at] != float(best);
            }
    CHECK(mismatches == 0);

    // backward: dy lands on the chosen element of each (non-overlapping) window, zero elsewhere
    std::vector<float> dy(y.size()), dx(x.size(), 5.0f);
    for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = float(i + 1);
    k::max_pool_backward<G>(arg.data(), dy.data(), dx.data());
    std::vector<float> expect(x.size(), 0.0f);
    for (int c = 0; c < G.c; ++c)
        for (int i = 0; i < Ho * Wo; ++i) {
            const std::size_t at = std::size_t(c) * Ho * Wo + i;
            expect[std::size_t(c) * G.h * G.w + std::size_t(arg[at])] += dy[at];
        }
    CHECK(dx == expect);
}

}  // namespace

TEST_CASE("2x2 max pool: first maximum in row-major order, NaN wins, over LeNet shapes and odd sizes") {
    check_2x2<k::pool2d_geometry{6, 24, 24, 2, 2, 0}>(1);   // LeNet-5 after conv1
    check_2x2<k::pool2d_geometry{16, 8, 8, 2, 2, 0}>(2);    // LeNet-5 after conv2
    check_2x2<k::pool2d_geometry{3, 14, 6, 2, 2, 0}>(3);    // non-square, Wo = 3 (no full vector)
    check_2x2<k::pool2d_geometry{5, 2, 34, 2, 2, 0}>(4);    // one output row, Wo = 17 (vector + tail)
    check_2x2<k::pool2d_geometry{7, 28, 28, 2, 2, 0}>(5);
}
