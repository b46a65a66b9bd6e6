// archetype/space/big_count.hpp — exact unsigned counts beyond 64 bits (cardinalities of spaces).
//
// Contract: a 256-bit unsigned integer with the few constexpr operations spaces need: multiply by a
// small factor (overflow is a compile-time error in constant evaluation and an archetype::error at run
// time), compare, divide with remainder by a small divisor, decimal string, and conversion to double.
// Mixed-radix genotype indices use it, so grid enumeration of a huge space is exact.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>

#include "archetype/core/error.hpp"

namespace archetype {

struct big_count {
    std::array<std::uint32_t, 8> limb{};  // little endian

    constexpr big_count() = default;
    constexpr big_count(std::uint64_t v) : limb{} {  // NOLINT: implicit from integers on purpose
        limb[0] = std::uint32_t(v);
        limb[1] = std::uint32_t(v >> 32);
    }

    constexpr big_count& operator*=(std::uint32_t f) {
        std::uint64_t carry = 0;
        for (auto& l : limb) {
            const std::uint64_t t = std::uint64_t(l) * f + carry;
            l = std::uint32_t(t);
            carry = t >> 32;
        }
        if (carry) throw error("big_count: a count exceeds 2^256");
        return *this;
    }
    constexpr big_count& operator+=(std::uint32_t a) {
        std::uint64_t carry = a;
        for (auto& l : limb) {
            const std::uint64_t t = std::uint64_t(l) + carry;
            l = std::uint32_t(t);
            carry = t >> 32;
            if (!carry) break;
        }
        if (carry) throw error("big_count: a count exceeds 2^256");
        return *this;
    }
    // Divides in place by d (> 0) and returns the remainder.
    constexpr std::uint32_t divmod(std::uint32_t d) {
        std::uint64_t rem = 0;
        for (std::size_t i = limb.size(); i-- > 0;) {
            const std::uint64_t cur = (rem << 32) | limb[i];
            limb[i] = std::uint32_t(cur / d);
            rem = cur % d;
        }
        return std::uint32_t(rem);
    }
    constexpr bool is_zero() const {
        for (auto l : limb)
            if (l) return false;
        return true;
    }
    constexpr bool fits_u64() const {
        for (std::size_t i = 2; i < limb.size(); ++i)
            if (limb[i]) return false;
        return true;
    }
    constexpr std::uint64_t to_u64() const { return std::uint64_t(limb[0]) | (std::uint64_t(limb[1]) << 32); }
    constexpr double to_double() const {
        double d = 0;
        for (std::size_t i = limb.size(); i-- > 0;) d = d * 4294967296.0 + limb[i];
        return d;
    }
    constexpr auto operator<=>(const big_count& o) const {
        for (std::size_t i = limb.size(); i-- > 0;)
            if (limb[i] != o.limb[i]) return limb[i] <=> o.limb[i];
        return std::strong_ordering::equal;
    }
    constexpr bool operator==(const big_count&) const = default;

    std::string str() const {
        if (is_zero()) return "0";
        big_count t = *this;
        std::string s;
        while (!t.is_zero()) s.insert(s.begin(), char('0' + t.divmod(10)));
        return s;
    }
    // Parses a decimal string; throws archetype::error on anything else.
    static big_count parse(const std::string& s) {
        if (s.empty()) throw error("big_count: empty number; write a decimal integer");
        big_count r;
        for (char ch : s) {
            if (ch < '0' || ch > '9')
                throw error("big_count: \"" + s + "\" is not a decimal integer; use digits 0-9 only");
            r *= 10;
            r += std::uint32_t(ch - '0');
        }
        return r;
    }
};

}  // namespace archetype
