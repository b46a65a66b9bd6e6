// Golden values: layer_norm, gelu, multi_head_attention and transformer_encoder (pre- and post-norm)
// against PyTorch's nn.LayerNorm, nn.GELU, nn.MultiheadAttention(batch_first, self-attention,
// need_weights=False) and nn.TransformerEncoderLayer(dropout=0, norm_first) (tests/data/golden/attention,
// made by tests/reference/generate_golden_attention.py; PyTorch sees x.transpose(1, 2), the [T][D] view
// of archetype's [D][T]). Parameters, biases and γ, β are random and non-trivial. y, dx and the
// parameter gradients must agree within 1e-4 relative to the largest magnitude of each reference array,
// and a 2-thread run must give bitwise the same results (tests/support/golden.hpp).
#include <doctest/doctest.h>

#include "archetype/blocks/transformer.hpp"
#include "archetype/layers/gelu.hpp"
#include "support/golden.hpp"

namespace at = archetype;
using at::shape;
using at::test::check_golden_layer;

TEST_CASE("layer_norm matches nn.LayerNorm over the channels of every token") {
    check_golden_layer<shape{8, 5, 1}, at::layer_norm>("attention/ln_d8_t5_b2");
    check_golden_layer<shape{16, 7, 1}, at::layer_norm>("attention/ln_d16_t7_b3");
    check_golden_layer<shape{6, 4, 3}, at::layer_norm>("attention/ln_d6_4x3_b2");
    check_golden_layer<shape{5, 1, 1}, at::layer_norm>("attention/ln_d5_t1_b1");
    check_golden_layer<shape{8, 6, 1}, at::layer_norm>("attention/ln_d8_t6_offset_b2");  // mean 20, spread 0.05
}

TEST_CASE("gelu matches nn.GELU") {
    check_golden_layer<shape{8, 5, 1}, at::gelu>("attention/gelu_8x5x1_b2");
    check_golden_layer<shape{10, 1, 1}, at::gelu>("attention/gelu_flat10_b3");
}

TEST_CASE("multi_head_attention matches nn.MultiheadAttention as self-attention") {
    check_golden_layer<shape{8, 5, 1}, at::multi_head_attention<2>>("attention/mha_d8_t5_h2_b2");
    check_golden_layer<shape{8, 6, 1}, at::multi_head_attention<1>>("attention/mha_d8_t6_h1_b1");
    check_golden_layer<shape{12, 7, 1}, at::multi_head_attention<3>>("attention/mha_d12_t7_h3_b3");
    check_golden_layer<shape{8, 5, 1}, at::multi_head_attention<4, false>>("attention/mha_d8_t5_h4_nobias_b2");
    check_golden_layer<shape{16, 16, 1}, at::multi_head_attention<4>>("attention/mha_d16_t16_h4_b2");
    check_golden_layer<shape{8, 9, 1}, at::multi_head_attention<2>>("attention/mha_d8_t9_h2_sharp_b2");
    check_golden_layer<shape{4, 1, 1}, at::multi_head_attention<2>>("attention/mha_d4_t1_h2_b2");
    check_golden_layer<shape{6, 3, 4}, at::multi_head_attention<2>>("attention/mha_d6_3x4_h2_b1");
}

TEST_CASE("transformer_encoder matches nn.TransformerEncoderLayer (norm_first true and false)") {
    check_golden_layer<shape{8, 5, 1}, at::transformer_encoder<2, 16>>("attention/enc_pre_relu_d8_t5_h2_f16_b2");
    check_golden_layer<shape{8, 5, 1}, at::transformer_encoder<2, 16, at::relu, false>>(
        "attention/enc_post_relu_d8_t5_h2_f16_b2");
    check_golden_layer<shape{12, 6, 1}, at::transformer_encoder<3, 24, at::gelu>>(
        "attention/enc_pre_gelu_d12_t6_h3_f24_b2");
    check_golden_layer<shape{12, 6, 1}, at::transformer_encoder<3, 24, at::gelu, false>>(
        "attention/enc_post_gelu_d12_t6_h3_f24_b3");
}
