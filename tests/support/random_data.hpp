// Test data: vectors of uniform floats from archetype::rng (so every test's data follows its seed),
// and the relative error the kernel tests compare with.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "archetype/core/rng.hpp"

namespace test_support {

// n values uniform in [lo, hi), drawn from g.
inline std::vector<float> uniform_vector(std::size_t n, archetype::rng& g, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> v(n);
    for (auto& x : v) x = g.uniform(lo, hi);
    return v;
}

// The same from a fresh generator seeded with `seed`.
inline std::vector<float> uniform_vector(std::size_t n, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    archetype::rng g(archetype::seed{seed});
    return uniform_vector(n, g, lo, hi);
}

// max |a − b| / max(max |b|, 1): absolute error for small values, relative for large ones.
inline double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) throw std::invalid_argument("rel_error: vectors of different sizes");
    double err = 0, scale = 1;
    for (std::size_t i = 0; i < a.size(); ++i) {
        err = std::max(err, double(std::abs(a[i] - b[i])));
        scale = std::max(scale, double(std::abs(b[i])));
    }
    return err / scale;
}

}  // namespace test_support
