// archetype/core/fixed_string.hpp — a string literal usable as a template argument.
//
// Contract: `fixed_string` is structural, so `choice<"edge_1_0", ...>` names a decision at compile
// time; view() gives the characters without the terminating zero.
#pragma once

#include <cstddef>
#include <string_view>

namespace archetype {

template <std::size_t N>
struct fixed_string {
    char chars[N]{};

    constexpr fixed_string(const char (&s)[N]) {
        for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
    }
    constexpr std::string_view view() const { return {chars, N - 1}; }
    constexpr std::size_t size() const { return N - 1; }
};

}  // namespace archetype
