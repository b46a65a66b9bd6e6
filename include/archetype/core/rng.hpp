// archetype/core/rng.hpp — the library's seeded random number generator.
//
// Contract: `rng` (xoshiro256**, seeded through splitmix64) produces the same sequence for the same
// seed on every platform and standard library: its distributions are written here, never taken from
// <random>, whose distributions differ between libstdc++ and libc++. Its whole state is four words
// (state()/set_state()), so a search can checkpoint and resume it exactly. Nothing in the library
// draws random numbers from anywhere else.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace archetype {

// A seed, spelled out at call sites: `network net{seed{42}}`.
struct seed {
    std::uint64_t value = 0;
};

class rng {
public:
    using result_type = std::uint64_t;

    explicit rng(seed s = {}) {
        std::uint64_t x = s.value;
        for (auto& w : s_) w = splitmix64(x);
    }

    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return ~result_type(0); }

    result_type operator()() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, 1) with 24 random bits (every float value of that grid equally likely).
    float uniform() { return float((*this)() >> 40) * 0x1.0p-24f; }
    float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }

    // Uniform integer in [0, n), without modulo bias (Lemire's method). n must be > 0.
    std::uint64_t below(std::uint64_t n) {
        for (;;) {
            const unsigned __int128 m = static_cast<unsigned __int128>((*this)()) * n;
            const auto low = static_cast<std::uint64_t>(m);
            if (low >= n || low >= (-n) % n) return static_cast<std::uint64_t>(m >> 64);
        }
    }

    // Standard normal by Box–Muller (one value per call, so the four words are the whole state).
    float normal() {
        double u1 = 0.0;
        while (u1 <= 0.0) u1 = double((*this)() >> 11) * 0x1.0p-53;
        const double u2 = double((*this)() >> 11) * 0x1.0p-53;
        const double r = std::sqrt(-2.0 * std::log(u1));
        constexpr double two_pi = 6.283185307179586476925286766559;
        return float(r * std::cos(two_pi * u2));
    }

    // Fisher–Yates shuffle of [first, last).
    template <class It>
    void shuffle(It first, It last) {
        const auto n = static_cast<std::uint64_t>(last - first);
        for (std::uint64_t i = n; i > 1; --i) {
            const auto j = below(i);
            using std::swap;
            swap(first[i - 1], first[j]);
        }
    }

    // An independent generator for stream `k` (for per-candidate or per-layer streams).
    rng split(std::uint64_t k) const {
        std::uint64_t x = s_[0] ^ (s_[3] + 0x9E3779B97F4A7C15ull * (k + 1));
        return rng(seed{splitmix64(x)});
    }

    std::array<std::uint64_t, 4> state() const { return s_; }
    void set_state(const std::array<std::uint64_t, 4>& s) { s_ = s; }

private:
    static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static constexpr std::uint64_t splitmix64(std::uint64_t& x) {
        std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    std::array<std::uint64_t, 4> s_{};
};

}  // namespace archetype
