// archetype/core/shape.hpp — the shape of one sample, usable as a template argument.
//
// Contract: `shape{c, h, w}` is a structural type, so it can be a non-type template parameter
// (`network<shape{1, 28, 28}, ...>`). Flat vectors are `shape{n, 1, 1}`; token sequences of length T
// and width D are `shape{D, T, 1}`. A batch adds a leading run-time dimension N (layout N, C, H, W).
#pragma once

#include <cstddef>
#include <string>

namespace archetype {

struct shape {
    int c = 0;
    int h = 1;
    int w = 1;

    constexpr std::size_t size() const { return std::size_t(c) * std::size_t(h) * std::size_t(w); }
    constexpr bool flat() const { return h == 1 && w == 1; }
    constexpr bool valid() const { return c > 0 && h > 0 && w > 0; }
    constexpr bool operator==(const shape&) const = default;

    std::string str() const {
        return "{" + std::to_string(c) + ", " + std::to_string(h) + ", " + std::to_string(w) + "}";
    }
};

// The flat shape holding the same number of values.
constexpr shape flattened(shape s) { return shape{int(s.size()), 1, 1}; }

}  // namespace archetype
