// archetype/kernels/int8_gemm.hpp — u8 × s8 → s32 matrix products with fused requantization, the core of
// integer-only inference.
//
// Contract. The product is acc(i, j) = Σ_k A(i, k) · V(k, j) over k < K, exact in int32 (K ≤ 65536, so no
// partial sum can overflow). One operand holds u8 activations and the other s8 weights; which is which is
// the template flag VecUnsigned (true: V is unsigned, as in a convolution where V is the im2col of the
// input; false: V holds the weights, as in a dense layer). Every output (i, j) belongs to the channel
// ch = ChannelIsRow ? i : j, and the epilogue (int8_epilogue) turns t = acc + bias[ch] (two's-complement
// int32) into
//   u8 output:  clamp(R(t, ch) + zero_point, lo, hi), with lo/hi inside [0, 255] (lo = zero_point gives a
//               fused ReLU, hi = the quantized 6 a ReLU6) and R the requantization:
//                 multiplier != null: round_half_even(float(t) · multiplier[ch])  (PyTorch/fbgemm float)
//                 else:               gemmlowp's MultiplyByQuantizedMultiplier(t, mantissa[ch], shift[ch])
//               — the same numbers as quant::float_requantization / fixed_point_requantization (compress/),
//               re-stated here because kernels/ knows only core/ (the tests hold the two equal);
//   f32 output: float(t) · dequant_scale[ch]  (the dequantized value, for logits).
// The bias folds the zero-point compensation: with activation zero point z_a and symmetric weights,
// Σ (a − z_a)·w = Σ a·w − z_a·Σ w, so bias[ch] = quantized bias − z_a · (row sum of the weights of ch).
// Paths (int8_path), chosen per call among those compiled in (int8_compiled_paths() lists them):
//   vnni512  AVX-512 VNNI vpdpbusd: 16 int32 lanes, 4 bytes per lane per step;
//   avx2     no VNNI: operands widened to int16 and multiplied with vpmaddwd (2 products summed into
//            int32 per lane), so nothing saturates (vpmaddubsw's int16 sums would);
//   scalar   plain loops over the vnni512 layout (the no-SIMD build's path).
// Packed formats (group g = 4 bytes on vnni512/scalar, g = 2 int16 on avx2; lanes = 16, or 8 on avx2):
//   V (k×n): element (k, j) at ((k/g)·np + j)·g + k%g, np = args.ldv or n rounded up to lanes;
//   A (m×k): row i at i·lda, element k at i·lda + k, rows padded with zeros to a multiple of g.
// Beyond K the A side must be zero (V may hold anything there); columns j ≥ n of V are computed but never
// stored. int8_gemm_reference is the definition on unpacked row-major A (m×k) and W (n×k) and the tests
// hold every path to it exactly. int8_matrix holds weights packed once (int8_pack_rows: A format, for
// convolutions; int8_pack_columns: V format, for dense layers) with their row sums.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "archetype/core/error.hpp"
#include "archetype/kernels/simd.hpp"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
#define ARCHETYPE_INT8_VNNI512 1
#define ARCHETYPE_INT8_NAMESPACE i8_vnni512
#elif defined(__AVX2__)
#define ARCHETYPE_INT8_NAMESPACE i8_avx2
#else
#define ARCHETYPE_INT8_NAMESPACE i8_scalar
#endif
#if defined(__AVX2__)
#define ARCHETYPE_INT8_AVX2 1
#endif
#if defined(ARCHETYPE_INT8_VNNI512) || defined(ARCHETYPE_INT8_AVX2)
#include <immintrin.h>
#endif

ARCHETYPE_KERNELS_BEGIN
inline namespace ARCHETYPE_INT8_NAMESPACE {

enum class int8_path { scalar, avx2, vnni512 };

constexpr const char* int8_path_name(int8_path p) {
    return p == int8_path::vnni512 ? "vnni512" : p == int8_path::avx2 ? "avx2" : "scalar";
}
// Whether this translation unit's flags compiled the path in (scalar always is).
constexpr bool int8_path_compiled(int8_path p) {
#if defined(ARCHETYPE_INT8_VNNI512)
    if (p == int8_path::vnni512) return true;
#endif
#if defined(ARCHETYPE_INT8_AVX2)
    if (p == int8_path::avx2) return true;
#endif
    return p == int8_path::scalar;
}
// The paths compiled in, scalar first (what tests compare against each other and benchmarks list).
inline std::vector<int8_path> int8_compiled_paths() {
    std::vector<int8_path> r;
    for (int8_path p : {int8_path::scalar, int8_path::avx2, int8_path::vnni512})
        if (int8_path_compiled(p)) r.push_back(p);
    return r;
}
constexpr int8_path int8_best_path() {
    return int8_path_compiled(int8_path::vnni512) ? int8_path::vnni512
           : int8_path_compiled(int8_path::avx2)  ? int8_path::avx2
                                                  : int8_path::scalar;
}
inline void check_int8_path(int8_path p, const char* who) {
    if (!int8_path_compiled(p))
        throw error(std::string(who) + ": the " + int8_path_name(p) +
                    " path is not compiled in (build with -march=native or the matching -m flags), or use "
                    "int8_best_path()");
}

constexpr std::size_t int8_group(int8_path p) { return p == int8_path::avx2 ? 2 : 4; }
constexpr std::size_t int8_lanes(int8_path p) { return p == int8_path::avx2 ? 8 : 16; }
constexpr std::size_t int8_elem_bytes(int8_path p) { return p == int8_path::avx2 ? 2 : 1; }
constexpr std::size_t int8_round_up(std::size_t n, std::size_t m) { return (n + m - 1) / m * m; }
inline constexpr std::size_t int8_max_depth = 65536;

struct int8_epilogue {
    const std::int32_t* bias = nullptr;      // per channel, added to acc (null: 0)
    const float* multiplier = nullptr;       // per channel, float requantization
    const std::int32_t* mantissa = nullptr;  // per channel, fixed-point requantization (multiplier null)
    const std::int32_t* shift = nullptr;     //   real multiplier = mantissa · 2^(shift − 31)
    std::int32_t zero_point = 0, lo = 0, hi = 255;
    const float* dequant_scale = nullptr;  // per channel, for f32 output
};

// ------------------------------------------------------------------------------------ scalar epilogue
inline std::int32_t int8_wrapping_add(std::int32_t a, std::int32_t b) {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}
// gemmlowp SaturatingRoundingDoublingHighMul and RoundingDivideByPOT (as compress/rounding.hpp).
constexpr std::int32_t int8_srdhm(std::int32_t a, std::int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    const std::int64_t p = std::int64_t{a} * b;
    const std::int64_t nudge = p >= 0 ? (std::int64_t{1} << 30) : 1 - (std::int64_t{1} << 30);
    return static_cast<std::int32_t>((p + nudge) / (std::int64_t{1} << 31));
}
constexpr std::int32_t int8_rdivpot(std::int32_t x, int e) {
    const std::int32_t mask = static_cast<std::int32_t>((std::int64_t{1} << e) - 1);
    const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + ((x & mask) > threshold ? 1 : 0);
}
constexpr std::int32_t int8_fixed_point_multiply(std::int32_t x, std::int32_t mantissa, int shift) {
    const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    std::int64_t v = std::int64_t{x} * (std::int64_t{1} << left);
    v = std::clamp<std::int64_t>(v, INT32_MIN, INT32_MAX);
    return int8_rdivpot(int8_srdhm(static_cast<std::int32_t>(v), mantissa), right);
}

// The u8 epilogue for one accumulator of channel ch.
inline std::uint8_t int8_requantize_one(std::int32_t acc, std::size_t ch, const int8_epilogue& e) {
    const std::int32_t t = e.bias ? int8_wrapping_add(acc, e.bias[ch]) : acc;
    std::int64_t v;
    if (e.multiplier) {
        const float r = std::nearbyint(static_cast<float>(t) * e.multiplier[ch]);
        v = static_cast<std::int64_t>(std::clamp(r, -0x1p62f, 0x1p62f));
    } else {
        v = int8_fixed_point_multiply(t, e.mantissa[ch], e.shift[ch]);
    }
    return static_cast<std::uint8_t>(std::clamp<std::int64_t>(v + e.zero_point, e.lo, e.hi));
}
inline float int8_dequantize_one(std::int32_t acc, std::size_t ch, const int8_epilogue& e) {
    const std::int32_t t = e.bias ? int8_wrapping_add(acc, e.bias[ch]) : acc;
    return static_cast<float>(t) * e.dequant_scale[ch];
}
template <class Out>
inline Out int8_finish_one(std::int32_t acc, std::size_t ch, const int8_epilogue& e) {
    if constexpr (std::is_same_v<Out, float>) {
        return int8_dequantize_one(acc, ch, e);
    } else {
        return int8_requantize_one(acc, ch, e);
    }
}

// --------------------------------------------------------------------------------------- reference
// The definition: acc[i·n + j] = Σ_k a[i·k + k'] · w[j·k + k'] (a u8 m×k, w s8 n×k, both row-major).
inline void int8_gemm_reference(std::size_t m, std::size_t n, std::size_t k, const std::uint8_t* a,
                                const std::int8_t* w, std::int32_t* acc) {
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            std::int32_t s = 0;
            for (std::size_t p = 0; p < k; ++p) s += std::int32_t{a[i * k + p]} * std::int32_t{w[j * k + p]};
            acc[i * n + j] = s;
        }
}

// ------------------------------------------------------------------------------------------ packing
// Writes logical V(k', j) = src[j·ld + k'] (k' < k, j < n; T is uint8_t or int8_t) into dst in the V
// format of path p; dst holds int8_v_size(p, k, n) bytes, zero where nothing is written.
inline std::size_t int8_v_size(int8_path p, std::size_t k, std::size_t n) {
    return int8_round_up(k, int8_group(p)) * int8_round_up(n, int8_lanes(p)) * int8_elem_bytes(p);
}
template <class T>
void int8_pack_v_transposed(int8_path p, const T* src, std::size_t ld, std::size_t k, std::size_t n, void* dst) {
    const std::size_t g = int8_group(p), np = int8_round_up(n, int8_lanes(p));
    std::memset(dst, 0, int8_v_size(p, k, n));
    for (std::size_t j = 0; j < n; ++j)
        for (std::size_t q = 0; q < k; ++q) {
            const std::size_t at = ((q / g) * np + j) * g + q % g;
            if (p == int8_path::avx2) {
                static_cast<std::int16_t*>(dst)[at] = static_cast<std::int16_t>(src[j * ld + q]);
            } else {
                static_cast<T*>(dst)[at] = src[j * ld + q];
            }
        }
}
// Row length (elements) of the A format for depth k, and A rows from src rows (row i at src + i·ld).
constexpr std::size_t int8_a_stride(int8_path p, std::size_t k) { return int8_round_up(k, int8_group(p)); }
template <class T>
void int8_pack_a(int8_path p, const T* src, std::size_t ld, std::size_t m, std::size_t k, void* dst) {
    const std::size_t lda = int8_a_stride(p, k);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t q = 0; q < lda; ++q) {
            const T v = q < k ? src[i * ld + q] : T{0};
            if (p == int8_path::avx2) {
                static_cast<std::int16_t*>(dst)[i * lda + q] = static_cast<std::int16_t>(v);
            } else {
                static_cast<T*>(dst)[i * lda + q] = v;
            }
        }
}

struct int8_gemm_args {
    std::size_t m = 0, n = 0, k = 0;
    const void* a = nullptr;  // A format, lda elements per row
    std::size_t lda = 0;
    const void* v = nullptr;  // V format for n columns
    void* c = nullptr;        // Out elements, row stride ldc
    std::size_t ldc = 0;
    int8_epilogue e{};
    std::size_t ldv = 0;  // columns per 4-deep (2-deep) row of V; 0: n rounded up to lanes
};

// Weights packed once for one path: `data` in the A format (convolutions: rows = output channels) or the
// V format (dense: columns = output channels), and each channel's sum of weights (for the zero-point
// compensation bias = quantized bias − z_a · row_sums).
struct int8_matrix {
    int8_path path = int8_path::scalar;
    std::size_t channels = 0, depth = 0;
    std::vector<std::uint8_t> data;  // bytes, with 64 bytes of slack for vector tails
    std::vector<std::int32_t> row_sums;
};
inline std::vector<std::int32_t> int8_row_sums(const std::int8_t* w, std::size_t channels, std::size_t depth) {
    std::vector<std::int32_t> s(channels, 0);
    for (std::size_t o = 0; o < channels; ++o)
        for (std::size_t r = 0; r < depth; ++r) s[o] += w[o * depth + r];
    return s;
}
// w is [channels][depth] row-major (PyTorch's [out][in] and [out][in/groups][k][k]).
inline int8_matrix int8_pack_rows(int8_path p, const std::int8_t* w, std::size_t channels, std::size_t depth) {
    int8_matrix m{p, channels, depth,
                  std::vector<std::uint8_t>(channels * int8_a_stride(p, depth) * int8_elem_bytes(p) + 64),
                  int8_row_sums(w, channels, depth)};
    int8_pack_a(p, w, depth, channels, depth, m.data.data());
    return m;
}
inline int8_matrix int8_pack_columns(int8_path p, const std::int8_t* w, std::size_t channels, std::size_t depth) {
    int8_matrix m{p, channels, depth, std::vector<std::uint8_t>(int8_v_size(p, depth, channels) + 64),
                  int8_row_sums(w, channels, depth)};
    int8_pack_v_transposed(p, w, depth, depth, channels, m.data.data());
    return m;
}

namespace int8_detail {

inline std::uint32_t load_u32(const void* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

template <class Out>
inline void finish_scalar(const std::int32_t* acc, std::size_t count, std::size_t ch0, bool ch_is_row, Out* c,
                          const int8_epilogue& e) {
    for (std::size_t l = 0; l < count; ++l) c[l] = int8_finish_one<Out>(acc[l], ch_is_row ? ch0 : ch0 + l, e);
}

// ---- scalar path: one output at a time over the vnni512 layout.
template <bool VecUnsigned, bool ChannelIsRow, class Out>
void gemm_scalar(const int8_gemm_args& g) {
    const std::size_t np = g.ldv ? g.ldv : int8_round_up(g.n, 16), kq = (g.k + 3) / 4;
    const auto* a = static_cast<const std::uint8_t*>(g.a);
    const auto* v = static_cast<const std::uint8_t*>(g.v);
    auto as_int = [](std::uint8_t byte, bool is_unsigned) {
        return is_unsigned ? std::int32_t{byte} : std::int32_t{static_cast<std::int8_t>(byte)};
    };
    for (std::size_t i = 0; i < g.m; ++i)
        for (std::size_t j = 0; j < g.n; ++j) {
            std::int32_t s = 0;
            for (std::size_t q = 0; q < kq; ++q)
                for (std::size_t t = 0; t < 4; ++t)
                    s += as_int(a[i * g.lda + q * 4 + t], !VecUnsigned) * as_int(v[(q * np + j) * 4 + t], VecUnsigned);
            static_cast<Out*>(g.c)[i * g.ldc + j] = int8_finish_one<Out>(s, ChannelIsRow ? i : j, g.e);
        }
}

}  // namespace int8_detail
}  // namespace ARCHETYPE_INT8_NAMESPACE
ARCHETYPE_KERNELS_END

#include "archetype/kernels/int8_gemm_simd.hpp"
