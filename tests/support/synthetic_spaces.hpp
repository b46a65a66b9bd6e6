// Synthetic search spaces for search tests: choices over identity, so nothing is trained, and cheap
// closed-form objectives.
#pragma once

#include <cstdint>
#include <utility>

#include "archetype/layers/identity.hpp"
#include "archetype/space/search_space.hpp"

namespace synthetic {

namespace at = archetype;

constexpr at::fixed_string<4> digit_name(std::size_t i) {
    const char s[4] = {'d', char('0' + i / 10), char('0' + i % 10), '\0'};
    return at::fixed_string<4>(s);
}
template <std::size_t I>
using digit = at::choice<digit_name(I), at::identity, at::identity, at::identity, at::identity>;
template <std::size_t... I>
at::sequential<digit<I>...> digits_body(std::index_sequence<I...>);

// N decisions of 4 alternatives each.
template <std::size_t N>
using digits_space = at::search_space<at::shape{1, 1, 1}, decltype(digits_body(std::make_index_sequence<N>{}))>;
// 4^12 = 16,777,216 genotypes.
using space12 = digits_space<12>;
// 3 · 2 · 4 = 24 genotypes: searches revisit genotypes often.
using space24 = at::search_space<at::shape{1, 1, 1},
                                 at::sequential<at::choice<"a", at::identity, at::identity, at::identity>,
                                                at::choice<"b", at::identity, at::identity>,
                                                at::choice<"c", at::identity, at::identity, at::identity, at::identity>>>;

// A fitness with one optimum (all 3s) and some structure: weighted digits plus pair bonuses.
template <class G>
double fitness(const G& g) {
    double f = 0;
    for (std::size_t i = 0; i < g.size(); ++i) f += double(g[i]) * double(1 + i % 3);
    for (std::size_t i = 0; i + 1 < g.size(); ++i) f += g[i] == g[i + 1] ? 0.5 : 0.0;
    return f;
}
// A second, conflicting objective (to minimise): the sum of squares.
template <class G>
double cost(const G& g) {
    double s = 0;
    for (auto v : g) s += double(v) * v;
    return s;
}
// A small deterministic per-genotype number (for delays that reorder completions).
template <class G>
std::uint64_t mix(const G& g) {
    std::uint64_t h = 0x9E3779B97F4A7C15ull;
    for (auto v : g) h = (h ^ v) * 0x100000001B3ull;
    return h ^ (h >> 29);
}

// Two strategies' histories are equal entry by entry: genotypes, objectives, violations, metrics.
template <class S>
bool same_history(const S& a, const S& b) {
    if (a.history().size() != b.history().size()) return false;
    for (std::size_t i = 0; i < a.history().size(); ++i) {
        const auto &x = a.history()[i], &y = b.history()[i];
        if (x.genotype != y.genotype || x.result.objectives != y.result.objectives ||
            x.result.violation != y.result.violation || x.result.metrics != y.result.metrics)
            return false;
    }
    return true;
}

}  // namespace synthetic
