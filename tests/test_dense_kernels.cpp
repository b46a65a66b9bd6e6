// The batch-1 dense kernel (kernels/dense.hpp, dense_gemv: w read in place, 8×8 tiles transposed in
// registers, blocks interleaved) against the fma-chain definition, bit for bit, over every output count
// 1..40 (every tail and interleave combination) and LeNet's sizes, input lengths with and without a tail
// of the 8-wide tiles; and dense_forward of one sample equals the same sample inside a batch.
#include <doctest/doctest.h>

#include <vector>

#include "archetype/core/rng.hpp"
#include "archetype/kernels/dense.hpp"
#include "support/random_data.hpp"

namespace k = archetype::kernels;
using test_support::uniform_vector;

TEST_CASE("dense_gemv equals the fma-chain reference bit for bit, every output count and input tail") {
    int bad = 0, cases = 0;
    std::uint64_t seed = 1;
    std::vector<std::size_t> outs;
    for (std::size_t o = 1; o <= 40; ++o) outs.push_back(o);
    for (std::size_t o : {63, 64, 65, 84, 120, 130}) outs.push_back(o);
    for (std::size_t out : outs)
        for (std::size_t in : {1, 5, 8, 13, 16, 84, 120, 256}) {
            const auto x = uniform_vector(in, ++seed), w = uniform_vector(in * out, ++seed);
            std::vector<float> ref(out), got(out + 3, 7.0f);
            k::dense_gemv_reference(x.data(), w.data(), ref.data(), in, out);
            k::dense_gemv(x.data(), w.data(), got.data(), in, out);
            bad += !std::equal(ref.begin(), ref.end(), got.begin());
            bad += got[out] != 7.0f || got[out + 2] != 7.0f;  // nothing written past the end
            ++cases;
        }
    CHECK(cases == 46 * 8);
    CHECK(bad == 0);
}

TEST_CASE("dense_forward of one sample equals that sample inside a batch (gemv vs packed gemm)") {
    const std::size_t in = 256, out = 120, n = 5;
    const auto x = uniform_vector(n * in, 7), w = uniform_vector(in * out, 8), b = uniform_vector(out, 9);
    std::vector<float> batch(n * out), one(out);
    k::dense_forward(x.data(), w.data(), b.data(), batch.data(), n, in, out);
    for (std::size_t s = 0; s < n; ++s) {
        k::dense_forward(x.data() + s * in, w.data(), b.data(), one.data(), 1, in, out);
        CHECK(std::equal(one.begin(), one.end(), batch.begin() + std::ptrdiff_t(s * out)));
    }
}
