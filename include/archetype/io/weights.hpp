// archetype/io/weights.hpp — save_weights(net, path) / load_weights(net, path).
//
// Contract: the file holds a network's parameters and state together with the spelling of its type, so
// weights are only ever loaded into the architecture that wrote them. It is written atomically
// (core/atomic_file.hpp). load_weights checks the whole file before touching the network: on any error
// the network is unchanged. Each way a file can be wrong is its own archetype::error naming the path:
// empty/truncated, trailing bytes, wrong magic (not a weights file), unknown format version, checksum
// mismatch (corrupted), another architecture (both spellings shown, around their first difference when
// long), count mismatch.
//
// File format, version 1. All integers little-endian; floats IEEE-754 binary32, little-endian.
//   offset      size  field
//   0           8     magic: 0x89 'A' 'T' 'W' 0x0D 0x0A 0x1A 0x0A   (as PNG's, catches text-mode mangling)
//   8           4     u32 format version = 1
//   12          4     u32 L: byte length of the spelling
//   16          L     spelling: Net::spelling(), UTF-8, no terminator
//   16+L        8     u64 P: number of parameters
//   24+L        8     u64 S: number of state values
//   32+L        4P    parameters, in the network's arena order (net.params())
//   32+L+4P     4S    state, in arena order (net.state())
//   32+L+4P+4S  4     u32 CRC-32 (zlib's crc32, the gzip polynomial) of every byte before it
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <zlib.h>

#include "archetype/core/error.hpp"
#include "archetype/core/atomic_file.hpp"

namespace archetype {

inline constexpr std::uint32_t weights_format_version = 1;
inline constexpr unsigned char weights_magic[8] = {0x89, 'A', 'T', 'W', 0x0D, 0x0A, 0x1A, 0x0A};

namespace detail {

// Writes the low `bytes` bytes of v little-endian at p; returns the position after them.
inline unsigned char* put_le(unsigned char* p, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) *p++ = static_cast<unsigned char>(v >> (8 * i));
    return p;
}
inline std::uint64_t get_le(const unsigned char* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t(p[i]) << (8 * i);
    return v;
}
inline std::uint32_t crc32_of(const unsigned char* p, std::size_t n) {
    uLong c = ::crc32(0L, Z_NULL, 0);
    while (n > 0) {  // zlib takes uInt lengths
        const auto chunk = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
        c = ::crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return static_cast<std::uint32_t>(c);
}

// The bytes of a version-1 weights file (`version` is a parameter only so tests can forge other ones).
inline std::vector<unsigned char> encode_weights(const std::string& spelling, std::span<const float> params,
                                                 std::span<const float> state,
                                                 std::uint32_t version = weights_format_version) {
    // Sized once and filled through a pointer (growing the vector piecewise trips a g++ 12 false warning).
    std::vector<unsigned char> out(36 + spelling.size() + 4 * (params.size() + state.size()));
    unsigned char* p = std::copy(std::begin(weights_magic), std::end(weights_magic), out.data());
    p = put_le(p, version, 4);
    p = put_le(p, spelling.size(), 4);
    p = std::copy(spelling.begin(), spelling.end(), p);
    p = put_le(p, params.size(), 8);
    p = put_le(p, state.size(), 8);
    for (float v : params) p = put_le(p, std::bit_cast<std::uint32_t>(v), 4);
    for (float v : state) p = put_le(p, std::bit_cast<std::uint32_t>(v), 4);
    put_le(p, crc32_of(out.data(), out.size() - 4), 4);
    return out;
}

// s itself when it has at most 200 characters; otherwise 160 characters around position `at` (where two
// spellings first differ), with "..." where cut.
inline std::string spelling_excerpt(const std::string& s, std::size_t at) {
    constexpr std::size_t whole = 200, width = 160;
    if (s.size() <= whole) return s;
    const std::size_t start = std::min(at > width / 2 ? at - width / 2 : 0, s.size() - width);
    return (start > 0 ? "..." : "") + s.substr(start, width) + (start + width < s.size() ? "..." : "");
}

}  // namespace detail

template <class Net>
void save_weights(const Net& net, const std::filesystem::path& path) {
    const auto bytes = detail::encode_weights(Net::spelling(), net.params(), net.state());
    write_file_atomically(path, bytes);
}

template <class Net>
void load_weights(Net& net, const std::filesystem::path& path) {
    const std::vector<unsigned char> f = read_file(path, "weights file");
    const std::string where = "weights file '" + path.string() + "'";
    const std::size_t size = f.size();
    auto truncated = [&](std::size_t needed) {
        return error(where + " is truncated: it has " + std::to_string(size) + " bytes but its header needs " +
                     (needed ? std::to_string(needed) : std::string("more")) +
                     "; the write was interrupted or the copy is incomplete: save the weights again");
    };
    if (size == 0) throw error(where + " is empty; save the weights again");
    if (std::memcmp(f.data(), weights_magic, std::min<std::size_t>(size, 8)) != 0)
        throw error(where + " is not an archetype weights file (its first bytes are not the weights magic "
                            "\\x89ATW\\r\\n\\x1a\\n); pass a file written by save_weights");
    if (size < 16) throw truncated(16);
    const auto version = std::uint32_t(detail::get_le(f.data() + 8, 4));
    if (version != weights_format_version)
        throw error(where + " has format version " + std::to_string(version) + " but this build of archetype reads "
                    "version " + std::to_string(weights_format_version) + "; use the matching archetype version");
    const std::size_t len = detail::get_le(f.data() + 12, 4);
    if (size < 32 + len) throw truncated(32 + len);
    const std::uint64_t p = detail::get_le(f.data() + 16 + len, 8), s = detail::get_le(f.data() + 24 + len, 8);
    constexpr std::uint64_t limit = std::uint64_t(1) << 60;
    if (p >= limit || s >= limit) throw truncated(0);
    const std::uint64_t expected = 36 + len + 4 * (p + s);
    if (size < expected) throw truncated(std::size_t(expected));
    if (size > expected)
        throw error(where + " has " + std::to_string(size - expected) + " bytes after its end (" +
                    std::to_string(expected) + " expected); it was corrupted or appended to: save the weights again");
    const auto stored = std::uint32_t(detail::get_le(f.data() + size - 4, 4));
    if (stored != detail::crc32_of(f.data(), size - 4))
        throw error(where + " is corrupted: its CRC-32 checksum does not match its contents; save the weights again "
                            "or restore the file from a good copy");
    const std::string file_spelling(reinterpret_cast<const char*>(f.data() + 16), len);
    const std::string net_spelling = Net::spelling();
    if (file_spelling != net_spelling) {
        const auto diff = std::size_t(
            std::mismatch(file_spelling.begin(), file_spelling.end(), net_spelling.begin(), net_spelling.end())
                .first - file_spelling.begin());
        throw error(where + " holds the weights of another architecture (first difference at character " +
                    std::to_string(diff) + "):\n  file:    " + detail::spelling_excerpt(file_spelling, diff) +
                    "\n  network: " + detail::spelling_excerpt(net_spelling, diff) +
                    "\nload it into the network type that saved it");
    }
    if (p != net.params().size() || s != net.state().size())
        throw error(where + " holds " + std::to_string(p) + " parameters and " + std::to_string(s) +
                    " state values, but the network (same architecture) has " + std::to_string(net.params().size()) +
                    " and " + std::to_string(net.state().size()) +
                    "; the file comes from an archetype version with another parameter layout: save it again");
    const unsigned char* data = f.data() + 32 + len;
    auto fill_from_file = [&](std::span<float> dst) {
        for (float& v : dst) {
            v = std::bit_cast<float>(std::uint32_t(detail::get_le(data, 4)));
            data += 4;
        }
    };
    fill_from_file(net.params());
    fill_from_file(net.state());
}

}  // namespace archetype
