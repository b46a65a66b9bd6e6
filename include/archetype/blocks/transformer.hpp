// archetype/blocks/transformer.hpp — the transformer encoder block
// `transformer_encoder<Heads, MlpHidden, Act = relu, NormFirst = true>` (Vaswani et al.; PyTorch's
// nn.TransformerEncoderLayer(D, Heads, dim_feedforward = MlpHidden, dropout = 0, activation,
// batch_first = True, norm_first = NormFirst)).
//
// Contract: takes a token sequence {D, T, 1} (stored [D][T]; any {C, H, W} is read as T = H·W tokens of
// width C) to the same shape; D must be divisible by Heads. With LN = layer_norm (eps 1e-5), MHSA =
// multi_head_attention<Heads> (with biases) and MLP = token-wise Linear(D → MlpHidden), Act,
// Linear(MlpHidden → D) (conv2d<.., 1>: a 1×1 convolution over the [D][T] layout is exactly a linear map
// applied to every token, with nn.Linear's weight layout [out][in] and initialisation):
//   NormFirst = true  (pre-norm, the default here: ViT, GPT-2, and stable without warm-up)
//       x = x + MHSA(LN1(x));  y = x + MLP(LN2(x))
//       = sequential<residual<layer_norm, MHSA>, residual<layer_norm, conv2d<MlpHidden, 1>, Act, conv2d<D, 1>>>
//   NormFirst = false (post-norm: the original transformer and PyTorch's default norm_first = False)
//       x = LN1(x + MHSA(x));  y = LN2(x + MLP(x))
//       = sequential<residual<MHSA>, layer_norm, residual<conv2d<MlpHidden, 1>, Act, conv2d<D, 1>>, layer_norm>
// No dropout and no mask. Act is any shape-keeping activation: relu is PyTorch's default, gelu
// (layers/gelu.hpp) is activation = "gelu". op<In> is the op of that composed sequential for D = In.c, so
// leaves, parameters and gradients are those layers'. Parameters in forward order: pre-norm LN1 (γ, β),
// MHSA (W_in, b_in, W_out, b_out), LN2, linear1 (W, b), linear2 (W, b); post-norm MHSA, LN1, linear1,
// linear2, LN2. (PyTorch registers self_attn, linear1, linear2, norm1, norm2 in that order instead.)
// cost_of is the sum of those layers' costs (two skip copies and two sums count D·T activations each);
// the last linear's type depends on D, so its cost is conv2d<1, 1>'s times D (a 1×1 convolution's
// params, MACs and outputs are proportional to its output channels).
#pragma once

#include <string>
#include <type_traits>

#include "archetype/graph/branches.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/attention.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/layer_norm.hpp"

namespace archetype {

template <int Heads, int MlpHidden, class Act = relu, bool NormFirst = true>
struct transformer_encoder {
    static_assert(Heads > 0 && MlpHidden > 0,
                  "archetype::transformer_encoder<Heads, MlpHidden>: Heads and MlpHidden must be positive");

    using attention = multi_head_attention<Heads>;
    // The composed descriptor for tokens of width D.
    template <int D>
    using body = std::conditional_t<
        NormFirst,
        sequential<residual<layer_norm, attention>,
                   residual<layer_norm, conv2d<MlpHidden, 1>, Act, conv2d<D, 1>>>,
        sequential<residual<attention>, layer_norm, residual<conv2d<MlpHidden, 1>, Act, conv2d<D, 1>>, layer_norm>>;

    static constexpr shape output(shape in) { return in; }
    static constexpr shape expected_input(shape in) { return attention::expected_input(in); }
    static constexpr cost cost_of(shape in) {
        const shape hidden{MlpHidden, in.h, in.w};
        const cost sums{0, 0, 2 * in.size()};
        const cost last = conv2d<1, 1>::cost_of(hidden);
        const auto d = std::size_t(in.c);
        return sums + identity::cost_of(in) + identity::cost_of(in) + layer_norm::cost_of(in) +
               layer_norm::cost_of(in) + attention::cost_of(in) + conv2d<MlpHidden, 1>::cost_of(in) +
               Act::cost_of(hidden) + cost{last.params * d, last.macs * d, last.activations * d};
    }
    static std::string spelling() {
        return "archetype::transformer_encoder<" + spell_args(Heads, MlpHidden) + ", " + Act::spelling() + ", " +
               spell_args(NormFirst) + ">";
    }

    template <shape In>
    using op = typename body<In.c>::template op<In>;
};

}  // namespace archetype
