// transformer_encoder (pre- and post-norm) and gelu: costs by hand, equal to the explicitly composed
// type; shapes and parameter layout; spelling; gradients against finite differences (errors relative to
// the largest gradient entry, bound 5e-4; with gelu, see below). PyTorch's values are in
// test_golden_attention.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <type_traits>

#include "archetype/blocks/transformer.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/gelu.hpp"
#include "archetype/layers/pool.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;
using at::cost;
using at::shape;

using pre_relu = at::transformer_encoder<2, 16>;
using post_relu = at::transformer_encoder<2, 16, at::relu, false>;
using pre_gelu = at::transformer_encoder<3, 24, at::gelu>;

// D = 8, T = 5, H = 2, hidden 16 (40 values per token sequence):
//   2 layer norms: 2 × (16 params, 40 outputs); MHSA: 288 params, 1680 MACs, 40 outputs
//   linear1 8 -> 16: 144 params, 640 MACs, 80 outputs; relu: 80 outputs
//   linear2 16 -> 8: 136 params, 640 MACs, 40 outputs; 2 skip copies and 2 sums: 4 × 40 outputs
constexpr cost block_cost{32 + 288 + 144 + 136, 1680 + 640 + 640, 2 * 40 + 40 + 80 + 80 + 40 + 4 * 40};
static_assert(pre_relu::cost_of(shape{8, 5, 1}) == block_cost);
static_assert(post_relu::cost_of(shape{8, 5, 1}) == block_cost);
static_assert(pre_relu::cost_of(shape{8, 5, 1}) == pre_relu::body<8>::cost_of(shape{8, 5, 1}));
static_assert(post_relu::cost_of(shape{8, 5, 1}) == post_relu::body<8>::cost_of(shape{8, 5, 1}));
static_assert(pre_gelu::cost_of(shape{12, 6, 1}) == pre_gelu::body<12>::cost_of(shape{12, 6, 1}));
static_assert(at::network<shape{8, 5, 1}, pre_relu>::param_count == 600);
static_assert(at::network<shape{8, 5, 1}, post_relu>::param_count == 600);
static_assert(pre_relu::output(shape{8, 5, 1}) == shape{8, 5, 1});
static_assert(pre_relu::expected_input(shape{9, 5, 1}) == shape{10, 5, 1});
// the op is the composed sequential's
static_assert(std::is_same_v<pre_relu::op<shape{8, 5, 1}>, pre_relu::body<8>::op<shape{8, 5, 1}>>);
static_assert(at::gelu::cost_of(shape{8, 5, 1}) == cost{0, 0, 40});

// A small sequence classifier: token embedding 4 -> 8 (a 1×1 convolution: 40 params, 160 MACs), two
// encoder blocks (block_cost each: the gelu block costs what the relu block costs), final LN (16 params),
// mean over the tokens (8 outputs), dense 8 -> 3 (27 params, 24 MACs).
using classifier = at::sequential<at::conv2d<8, 1>, at::repeat<2, at::transformer_encoder<2, 16, at::gelu>>,
                                  at::layer_norm, at::global_avg_pool, at::dense<3>>;
static_assert(classifier::output(shape{4, 5, 1}) == shape{3, 1, 1});
static_assert(classifier::cost_of(shape{4, 5, 1}) ==
              cost{40 + 2 * block_cost.params + 16 + 27, 160 + 2 * block_cost.macs + 24,
                   40 + 2 * block_cost.activations + 40 + 8 + 3});

TEST_CASE("transformer_encoder spells itself as C++ and lays out its parameters in forward order") {
    CHECK(pre_relu::spelling() == "archetype::transformer_encoder<2, 16, archetype::relu, true>");
    CHECK(post_relu::spelling() == "archetype::transformer_encoder<2, 16, archetype::relu, false>");
    CHECK(pre_gelu::spelling() == "archetype::transformer_encoder<3, 24, archetype::gelu, true>");
    // pre-norm starts with LN1 (γ = 1, β = 0), post-norm with MHSA's in-projection (Xavier-uniform)
    at::network<shape{8, 5, 1}, pre_relu> pre{at::seed{1}};
    at::network<shape{8, 5, 1}, post_relu> post{at::seed{1}};
    for (int i = 0; i < 8; ++i) {
        CHECK(pre.params()[i] == 1.0f);
        CHECK(pre.params()[8 + i] == 0.0f);
    }
    // post-norm: the LN after MHSA starts at 4·64 + 4·8 = 288
    for (int i = 0; i < 8; ++i) {
        CHECK(post.params()[288 + i] == 1.0f);
        CHECK(post.params()[296 + i] == 0.0f);
    }
    int in_bound = 0;
    for (int i = 0; i < 3 * 64; ++i) in_bound += std::abs(post.params()[i]) <= std::sqrt(6.0f / 32.0f);
    CHECK(in_bound == 3 * 64);
    CHECK(post.params()[0] != 1.0f);
}

// With gelu: a ReLU MLP is piecewise linear, and central differences of step 1e-2 cross its kinks (of the
// 2 × 80 hidden values about one lies within reach of a kink for any parameter step), giving errors of
// 1e-2 to 1e-1 that say nothing about backward. The ReLU blocks' gradients are checked against PyTorch's
// in test_golden_attention.cpp instead (within 1e-4).
TEST_CASE("transformer_encoder gradients agree with finite differences") {
    using at::test::check_gradients;
    constexpr double tol = 5e-4;  // measured: at most 1.7e-4
    check_gradients<shape{8, 5, 1}, at::transformer_encoder<2, 16, at::gelu>>(2, tol);
    check_gradients<shape{8, 5, 1}, at::transformer_encoder<2, 16, at::gelu, false>>(2, tol);
    check_gradients<shape{6, 4, 1}, pre_gelu>(2, tol);
    check_gradients<shape{6, 2, 3}, at::transformer_encoder<2, 12, at::gelu, false>>(1, tol);  // 6 positions
    check_gradients<shape{4, 5, 1}, classifier>(2, tol);
}

TEST_CASE("gelu gradients agree with finite differences") {
    at::test::check_gradients<shape{8, 5, 1}, at::gelu>(2, 5e-4);
}
