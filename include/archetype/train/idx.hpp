// archetype/train/idx.hpp — reader of IDX files (the MNIST / Fashion-MNIST format), plain or gzip.
//
// Contract: read_idx_images reads an unsigned-byte image file (magic 0x00000803: count, rows, columns,
// then count·rows·columns pixels); read_idx_labels an unsigned-byte label file (magic 0x00000801: count,
// then count labels). Header integers are big-endian. A file starting with the gzip magic 1f 8b is
// decompressed first (all gzip members); otherwise it is read as is. The file must hold exactly what its
// header announces: a truncated file, trailing bytes, a zero dimension, a wrong magic, a damaged or cut
// gzip stream each throw archetype::error naming the path and what is wrong.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <zlib.h>

#include "archetype/core/error.hpp"
#include "archetype/core/atomic_file.hpp"

namespace archetype {

struct idx_images {
    std::size_t count = 0, rows = 0, cols = 0;
    std::vector<std::uint8_t> pixels;  // [count][rows][cols]
};

namespace detail {

inline std::string idx_where(const std::filesystem::path& path) { return "IDX file '" + path.string() + "'"; }

// Inflates every gzip member of `in`; throws on damaged, cut or trailing data.
inline std::vector<unsigned char> gunzip(const std::vector<unsigned char>& in, const std::filesystem::path& path) {
    const std::string where = idx_where(path) + " (gzip)";
    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw error(where + ": zlib could not start inflating");
    std::vector<unsigned char> out(std::max<std::size_t>(in.size() * 4, 1 << 16));
    std::size_t in_pos = 0, out_len = 0;
    auto fail = [&](const std::string& what) {
        inflateEnd(&zs);
        return error(where + " " + what + "; download the file again (or check its checksum)");
    };
    for (;;) {
        if (zs.avail_in == 0 && in_pos < in.size()) {
            const std::size_t chunk = std::min<std::size_t>(in.size() - in_pos, 1u << 30);
            zs.next_in = const_cast<unsigned char*>(in.data() + in_pos);
            zs.avail_in = static_cast<uInt>(chunk);
            in_pos += chunk;
        }
        if (out_len == out.size()) out.resize(out.size() * 2);
        zs.next_out = out.data() + out_len;
        zs.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size() - out_len, 1u << 30));
        const uInt room = zs.avail_out;
        const int r = inflate(&zs, Z_NO_FLUSH);
        out_len += room - zs.avail_out;
        if (r == Z_STREAM_END) {
            const std::size_t left = in.size() - in_pos + zs.avail_in;
            if (left == 0) break;
            const unsigned char* next = in.data() + (in.size() - left);
            if (left >= 2 && next[0] == 0x1f && next[1] == 0x8b) {  // another gzip member follows
                inflateReset(&zs);
                continue;
            }
            throw fail("has " + std::to_string(left) + " bytes of trailing data after the gzip stream");
        }
        if (r == Z_BUF_ERROR && zs.avail_in == 0 && in_pos == in.size())
            throw fail("is truncated: the gzip stream ends before its end marker");
        if (r != Z_OK && r != Z_BUF_ERROR)
            throw fail(std::string("is corrupted: ") + (zs.msg ? zs.msg : "zlib error " + std::to_string(r)));
    }
    inflateEnd(&zs);
    out.resize(out_len);
    return out;
}

inline std::vector<unsigned char> read_maybe_gzip(const std::filesystem::path& path) {
    auto bytes = read_file(path, "IDX file");
    if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return gunzip(bytes, path);
    return bytes;
}

inline std::uint32_t be32(const unsigned char* p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | std::uint32_t(p[3]);
}

// Checks magic and length of an unsigned-byte IDX file with `ndims` dimensions; returns the dimensions.
inline std::vector<std::size_t> idx_header(const std::vector<unsigned char>& b, const std::filesystem::path& path,
                                           unsigned ndims, const char* kind) {
    const std::string where = idx_where(path);
    if (b.size() < 4)
        throw error(where + " has only " + std::to_string(b.size()) + " bytes, too few for an IDX header; "
                    "the file is truncated or not an IDX file");
    const std::uint32_t magic = be32(b.data()), want = 0x0800u | ndims;
    if (magic != want) {
        char got[16], exp[16];
        std::snprintf(got, sizeof got, "0x%08x", unsigned(magic));
        std::snprintf(exp, sizeof exp, "0x%08x", unsigned(want));
        std::string hint = "; pass an IDX " + std::string(kind) + " file";
        if (magic == 0x0801u || magic == 0x0803u)
            hint = "; this looks like the other file of the pair: are images and labels swapped?";
        throw error(where + " has magic " + got + " but an IDX " + kind + " file (unsigned bytes, " +
                    std::to_string(ndims) + " dimension" + (ndims > 1 ? "s" : "") + ") starts with " + exp + hint);
    }
    const std::size_t header = 4 + 4 * std::size_t(ndims);
    if (b.size() < header)
        throw error(where + " is truncated: " + std::to_string(b.size()) + " bytes, but its header alone needs " +
                    std::to_string(header) + "; download the file again");
    std::vector<std::size_t> dims(ndims);
    std::uint64_t body = 1;
    for (unsigned i = 0; i < ndims; ++i) {
        dims[i] = be32(b.data() + 4 + 4 * i);
        if (dims[i] == 0)
            throw error(where + ": dimension " + std::to_string(i) + " of the header is zero; the file holds no data");
        body = body > UINT64_MAX / dims[i] ? UINT64_MAX : body * dims[i];  // saturate: reported as truncated
    }
    if (b.size() - header < body)
        throw error(where + " is truncated: its header announces " + std::to_string(body) +
                    " data bytes but it holds " + std::to_string(b.size() - header) + "; download the file again");
    if (b.size() - header > body)
        throw error(where + " has " + std::to_string(b.size() - header - body) + " bytes of trailing data after the " +
                    std::to_string(body) + " its header announces; the file is damaged or not this format");
    return dims;
}

}  // namespace detail

inline idx_images read_idx_images(const std::filesystem::path& path) {
    auto b = detail::read_maybe_gzip(path);
    const auto d = detail::idx_header(b, path, 3, "images");
    idx_images r;
    r.count = d[0];
    r.rows = d[1];
    r.cols = d[2];
    r.pixels.assign(b.begin() + 16, b.end());
    return r;
}

inline std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path) {
    auto b = detail::read_maybe_gzip(path);
    detail::idx_header(b, path, 1, "labels");
    return {b.begin() + 8, b.end()};
}

}  // namespace archetype
