// archetype/space/nas_bench_201.hpp — the NAS-Bench-201 search space (Dong & Yang, ICLR 2020) and its
// cell strings.
//
// Contract: `nas_bench_201<In, C, N, Classes>` is a search_space with the NB201 macro skeleton
// (as in the NB201 code, xautodl TinyNetwork / InferCell / ResNetBasicblock):
//   stem     conv3×3 In.c→C (pad 1, no bias) + BN
//   N cells at C, reduction to 2C, N cells at 2C, reduction to 4C, N cells at 4C
//   head     BN + ReLU, global average pool, dense 4C→Classes (with bias)
// A cell is cell<4, nb201::edge>: 4 nodes, 6 edges, each edge one of (labels = NB201 op names)
//   none          zero
//   skip_connect  identity
//   nor_conv_1x1  ReLU, conv1×1 C→C (no bias), BN
//   nor_conv_3x3  ReLU, conv3×3 C→C (pad 1, no bias), BN
//   avg_pool_3x3  avg_pool<3, 1, 1, false> (count_include_pad=False)
// Every cell of the network shares the one cell genotype, so there are 5^6 = 15,625 members. The
// reduction block is NB201's ResNet basic block with stride 2: ReLU-conv3×3(stride 2)-BN,
// ReLU-conv3×3-BN, plus the shortcut avg_pool 2×2 (stride 2) then conv1×1 (no bias, no BN).
// Defaults give NB201's CIFAR network (In 3×32×32, C 16, N 5, 10 classes); H and W must halve evenly
// twice (e.g. 1×28×28 for Fashion-MNIST with a smaller C and N).
// Genotypes: the decisions are edge_1_0, edge_2_0, edge_2_1, edge_3_0, edge_3_1, edge_3_2 (edge_j_i feeds
// node j from node i), alternatives in the order above. to_nb201_string writes, and parse_nb201_string
// reads, NB201's cell string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` (node 1, then 2, then 3; `~i` names
// the source node); a malformed string is an archetype::error naming the character, the edge and the
// allowed operations. The `arch` index of the NB201 tables is not a mixed-radix order of the edges
// (checked against all 15,625 rows of the benchmark table), so map it through the table's cell strings.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "archetype/blocks/conv_bn.hpp"
#include "archetype/graph/branches.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/pool.hpp"
#include "archetype/space/cell.hpp"
#include "archetype/space/genotype_text.hpp"

namespace archetype {

namespace nb201 {

inline constexpr std::array<std::string_view, 5> op_names{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                                           "avg_pool_3x3"};

using edge = choice<"edge", option<"none", zero>, option<"skip_connect", identity>,
                    option<"nor_conv_1x1", relu_conv_bn_same<1>>, option<"nor_conv_3x3", relu_conv_bn_same<3>>,
                    option<"avg_pool_3x3", avg_pool<3, 1, 1, false>>>;
using cell_type = cell<4, edge>;

template <int Out>
struct reduction_block
    : sum<sequential<relu_conv_bn<Out, 3, 2>, relu_conv_bn<Out, 3, 1>>,
          sequential<avg_pool<2, 2>, conv2d<Out, 1, 1, 0, 1, 1, false>>> {
    static std::string spelling() { return "archetype::nb201::reduction_block<" + std::to_string(Out) + ">"; }
};

template <int C, std::size_t N, int Classes>
using body = sequential<conv2d<C, 3, 1, 1, 1, 1, false>, batch_norm, repeat<N, cell_type>, reduction_block<2 * C>,
                        repeat<N, cell_type>, reduction_block<4 * C>, repeat<N, cell_type>, batch_norm, relu,
                        global_avg_pool, dense<Classes>>;

}  // namespace nb201

template <shape In = shape{3, 32, 32}, int C = 16, std::size_t N = 5, int Classes = 10>
using nas_bench_201 = search_space<In, nb201::body<C, N, Classes>>;

// One index per edge in the order edge_1_0, edge_2_0, edge_2_1, edge_3_0, edge_3_1, edge_3_2: the
// genotype of every nas_bench_201<...>.
using nb201_genotype = std::array<std::uint16_t, 6>;

inline std::string to_nb201_string(const nb201_genotype& g) {
    std::string s = "|";
    for (std::size_t e = 0; e < g.size(); ++e) {
        const auto ends = detail::cell_edge_of(e);
        if (g[e] >= nb201::op_names.size())
            throw error("NAS-Bench-201 genotype: edge " + std::to_string(ends.from) + "->" + std::to_string(ends.to) +
                        " has value " + std::to_string(g[e]) + " but allows 0..4");
        if (e > 0 && ends.from == 0) s += "+|";
        s += std::string(nb201::op_names[g[e]]) + "~" + std::to_string(ends.from) + "|";
    }
    return s;
}

inline nb201_genotype parse_nb201_string(std::string_view text) {
    const std::string_view s = detail::trim(text);
    auto fail = [&](std::size_t pos, const std::string& what) -> error {
        return error("NAS-Bench-201 cell string \"" + std::string(s) + "\": at character " + std::to_string(pos + 1) +
                     ", " + what + "; the form is |op~0|+|op~0|op~1|+|op~0|op~1|op~2| with op one of none, "
                     "skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3");
    };
    nb201_genotype g{};
    std::size_t pos = 0;
    for (std::size_t e = 0; e < g.size(); ++e) {
        const auto ends = detail::cell_edge_of(e);
        const std::string edge_name = "edge " + std::to_string(ends.from) + "->" + std::to_string(ends.to);
        if (ends.from == 0) {  // a node's group opens: "|" for node 1, "+|" after that
            if (e > 0) {
                if (pos >= s.size() || s[pos] != '+')
                    throw fail(pos, "expected '+' before the inputs of node " + std::to_string(ends.to));
                ++pos;
            }
            if (pos >= s.size() || s[pos] != '|') throw fail(pos, "expected '|' opening the inputs of node " +
                                                                   std::to_string(ends.to));
            ++pos;
        }
        const std::size_t bar = s.find('|', pos);
        if (bar == std::string_view::npos)
            throw fail(pos, "expected op~" + std::to_string(ends.from) + " closed by '|' for " + edge_name);
        const std::string_view token = s.substr(pos, bar - pos);
        const std::size_t tilde = token.rfind('~');
        const std::string_view op = token.substr(0, tilde);
        std::size_t k = 0;
        while (k < nb201::op_names.size() && nb201::op_names[k] != op) ++k;
        if (k == nb201::op_names.size())
            throw fail(pos, "unknown operation \"" + std::string(op) + "\" on " + edge_name);
        const std::string source = std::to_string(ends.from);
        if (tilde == std::string_view::npos || token.substr(tilde + 1) != source)
            throw fail(pos, "\"" + std::string(token) + "\" must end in ~" + source + " (" + edge_name + ")");
        g[e] = std::uint16_t(k);
        pos = bar + 1;
    }
    if (pos != s.size()) throw fail(pos, "unexpected text after the six edges");
    return g;
}

}  // namespace archetype
