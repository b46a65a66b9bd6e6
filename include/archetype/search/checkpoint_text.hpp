// archetype/search/checkpoint_text.hpp — the token format of strategy checkpoints.
//
// Contract: a checkpoint is whitespace-separated tokens. Numbers are written with std::to_chars
// (locale-independent; doubles in their shortest exact round-trip form, inf included) and read back
// with std::from_chars, so a loaded state is bit-identical to the saved one. Names are
// length-prefixed and may hold any character. Anything unexpected while reading (a missing or
// malformed token, a wrong keyword, a value out of range) is an archetype::error starting with
// "checkpoint: " that says what was found.
#pragma once

#include <charconv>
#include <cstdint>
#include <istream>
#include <limits>
#include <ostream>
#include <string>
#include <type_traits>

#include "archetype/core/error.hpp"

namespace archetype::checkpoint {

[[noreturn]] inline void fail(const std::string& what) {
    throw error("checkpoint: " + what + "; the data is truncated, corrupt, or not from this strategy and space");
}

template <class T>
void put(std::ostream& os, T v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    os.write(buf, r.ptr - buf);
    os.put(' ');
}

template <class T>
T get(std::istream& is) {
    std::string tok;
    if (!(is >> tok)) fail("unexpected end of data");
    T v{};
    const auto r = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (r.ec != std::errc{} || r.ptr != tok.data() + tok.size()) fail("\"" + tok + "\" is not a number");
    return v;
}

inline void put_word(std::ostream& os, const std::string& w) {
    put(os, w.size());
    os << w << ' ';
}

inline std::string get_word(std::istream& is) {
    const auto n = get<std::size_t>(is);
    if (n > (std::size_t(1) << 20)) fail("a name of " + std::to_string(n) + " characters");
    std::string w(n, '\0');
    if (is.get() != ' ' || !is.read(w.data(), std::streamsize(n))) fail("a name is cut short");
    return w;
}

inline void expect(std::istream& is, const std::string& keyword) {
    std::string tok;
    if (!(is >> tok) || tok != keyword) fail("expected \"" + keyword + "\" but found \"" + tok + "\"");
}

// A genotype: fixed-size array of unsigned integers.
template <class G>
void put_genotype(std::ostream& os, const G& g) {
    for (auto v : g) put(os, std::uint64_t(v));
}
template <class G>
G get_genotype(std::istream& is) {
    G g{};
    for (auto& v : g) {
        using value = std::remove_reference_t<decltype(v)>;
        const auto x = get<std::uint64_t>(is);
        if (x > std::uint64_t(std::numeric_limits<value>::max())) fail("a genotype value out of range");
        v = value(x);
    }
    return g;
}

// A list of at most `limit` indices, each below `limit` (history indices of a population).
template <class Container>
void put_indices(std::ostream& os, const Container& c) {
    put(os, c.size());
    for (auto i : c) put(os, std::size_t(i));
}
template <class Container>
Container get_indices(std::istream& is, std::size_t limit) {
    const auto n = get<std::size_t>(is);
    if (n > limit) fail("a list of " + std::to_string(n) + " indices into a history of " + std::to_string(limit));
    Container c(n);
    for (auto& i : c)
        if ((i = get<std::size_t>(is)) >= limit) fail("an index past the history");
    return c;
}

}  // namespace archetype::checkpoint
