// archetype/space/nas_bench_macro.hpp — the NAS-Bench-Macro search space (Su et al., CVPR 2021) and its
// 8-digit keys.
//
// Contract: `nas_bench_macro` is a search_space on 3×32×32 inputs, the network of the NB-Macro code
// (xiusu/NAS-Bench-Macro, train/model.py):
//   stem    conv3×3 3→32 (pad 1, no bias) + BN + ReLU
//   8 searched layers in three stages of 2, 3, 3; the first layer of a stage has stride 2 and doubles
//           the channels (32→64→128→256), the others keep both. Layer i is the decision "layer<i>" with
//           alternatives labelled "0", "1", "2":
//             0  identity, or conv1×1(stride, no bias) + BN where stride or channels change
//             1  MBConv kernel 3, expansion 3, ReLU (residual where stride 1 and channels unchanged)
//             2  MBConv kernel 5, expansion 6, ReLU (likewise)
//   head    conv1×1 256→1280 (no bias) + BN + ReLU, global average pool, dense 1280→Classes (with bias)
// 3^8 = 6,561 members. A genotype's key is its 8 alternatives as digits, layer 0 first ("22212220"), the
// keys of the benchmark's JSON table; to_nbm_key and parse_nbm_key convert, and parse_nbm_key rejects
// anything but 8 digits 0-2 with an archetype::error naming the position. cost_of(g) gives the table's
// `params` (every weight, BN γ and β, the dense bias) and `flops` (MACs of conv and dense weights).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "archetype/blocks/conv_bn.hpp"
#include "archetype/blocks/mbconv.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/pool.hpp"
#include "archetype/space/genotype_text.hpp"

namespace archetype {

namespace nbm {

template <fixed_string Name, int Out, int Stride>
using layer = choice<Name, option<"0", identity_or_project<Out, Stride>>, option<"1", mbconv<Out, 3, Stride, 3, relu>>,
                     option<"2", mbconv<Out, 5, Stride, 6, relu>>>;

template <int Classes>
using body = sequential<conv_bn_relu<32, 3>,                                         // stem
                        layer<"layer0", 64, 2>, layer<"layer1", 64, 1>,              // stage 1
                        layer<"layer2", 128, 2>, layer<"layer3", 128, 1>, layer<"layer4", 128, 1>,  // stage 2
                        layer<"layer5", 256, 2>, layer<"layer6", 256, 1>, layer<"layer7", 256, 1>,  // stage 3
                        conv_bn_relu<1280, 1>, global_avg_pool, dense<Classes>>;      // head

}  // namespace nbm

template <int Classes = 10>
using nas_bench_macro_space = search_space<shape{3, 32, 32}, nbm::body<Classes>>;
using nas_bench_macro = nas_bench_macro_space<10>;

// One alternative per searched layer, layer 0 first: the genotype of nas_bench_macro.
using nbm_genotype = std::array<std::uint16_t, 8>;

inline std::string to_nbm_key(const nbm_genotype& g) {
    std::string key;
    for (std::size_t i = 0; i < g.size(); ++i) {
        if (g[i] > 2)
            throw error("NAS-Bench-Macro genotype: layer" + std::to_string(i) + " has value " + std::to_string(g[i]) +
                        " but allows 0 (identity), 1 (MBConv k3 e3) or 2 (MBConv k5 e6)");
        key += char('0' + g[i]);
    }
    return key;
}

inline nbm_genotype parse_nbm_key(std::string_view text) {
    const std::string_view key = detail::trim(text);
    if (key.size() != 8)
        throw error("NAS-Bench-Macro key \"" + std::string(key) + "\" has " + std::to_string(key.size()) +
                    " characters; write 8 digits 0-2, one per searched layer (e.g. \"22212220\")");
    nbm_genotype g{};
    for (std::size_t i = 0; i < key.size(); ++i) {
        if (key[i] < '0' || key[i] > '2')
            throw error("NAS-Bench-Macro key \"" + std::string(key) + "\": character " + std::to_string(i + 1) +
                        " (layer" + std::to_string(i) + ") is '" + std::string(1, key[i]) +
                        "'; use 0 (identity), 1 (MBConv k3 e3) or 2 (MBConv k5 e6)");
        g[i] = std::uint16_t(key[i] - '0');
    }
    return g;
}

}  // namespace archetype
