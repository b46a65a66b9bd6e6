// archetype/kernels/int8_dense.hpp — integer fully connected layer: u8 activations × s8 weights with the
// epilogue of int8_gemm.hpp fused (u8 requantized or f32 dequantized output).
//
// Contract: x is [n][in] u8, w = int8_pack_columns(path, weights [out][in], out, in) (its path is taken),
// y is [n][out]: y[s][o] = epilogue(Σ_i x[s][i] · w[o][i]) for channel o. The whole batch is one product
// (the weights are read once per 6 samples). x is used in place when its rows already have the A format
// (vnni512/scalar and in % 4 == 0); otherwise it is copied into per-thread scratch (padded, and widened to
// int16 on avx2). int8_dense_reference is the definition in plain loops (the tests' twin).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "archetype/kernels/int8_gemm.hpp"

ARCHETYPE_KERNELS_BEGIN
inline namespace ARCHETYPE_INT8_NAMESPACE {

template <class Out>
void int8_dense_reference(const std::int8_t* w, const std::uint8_t* x, std::size_t n, std::size_t in, std::size_t out,
                          const int8_epilogue& e, Out* y) {
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t o = 0; o < out; ++o) {
            std::int32_t acc = 0;
            for (std::size_t i = 0; i < in; ++i) acc += std::int32_t{x[s * in + i]} * std::int32_t{w[o * in + i]};
            y[s * out + o] = int8_finish_one<Out>(acc, o, e);
        }
}

template <class Out>
void int8_dense_forward(const int8_matrix& w, const std::uint8_t* x, std::size_t n, const int8_epilogue& e, Out* y) {
    const int8_path p = w.path;
    const std::size_t in = w.depth, out = w.channels, lda = int8_a_stride(p, in);
    const void* a = x;
    if (p == int8_path::avx2 || in % 4 != 0) {
        thread_local std::vector<std::uint8_t> buf;
        const std::size_t bytes = n * lda * int8_elem_bytes(p) + 64;
        if (buf.size() < bytes) buf.resize(bytes);
        int8_pack_a(p, x, in, n, in, buf.data());
        a = buf.data();
    }
    int8_gemm<false, false, Out>(
        p, {n, out, in, a, p == int8_path::avx2 || in % 4 != 0 ? lda : in, w.data.data(), y, out, e, 0});
}

}  // namespace ARCHETYPE_INT8_NAMESPACE
ARCHETYPE_KERNELS_END
