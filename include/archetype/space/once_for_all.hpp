// archetype/space/once_for_all.hpp — the Once-for-All elastic MobileNetV3 space (Cai et al., ICLR 2020).
//
// Contract: `ofa_space<Resolution, WidthPercent, Classes>` is a search_space on 3×R×R inputs with the
// OFA MobileNetV3 skeleton (mit-han-lab/once-for-all, OFAMobileNetV3), widths make_divisible(base·w, 8):
//   stem     conv3×3 stride 2, 3→16w (no bias) + BN + hard_swish
//   block    MBConv k3 e1 16w→16w, relu, residual (fixed)
//   stages   s1..s5: width 24w, 40w, 80w, 112w, 160w; stride 2, 2, 2, 1, 2; relu, relu, hard_swish ×3;
//            per stage the decision "sS_depth" ∈ {2, 3, 4} (elastic_depth); per block b the decisions
//            "sS_bB_k" ∈ {3, 5, 7} (kernel) and "sS_bB_e" ∈ {3, 4, 6} (expand ratio) (elastic_mbconv)
//   head     conv1×1 160w→960w (no bias) + BN + hard_swish, global average pool,
//            dense 960w→1280w (no bias) + hard_swish, dense 1280w→Classes
// Differences from OFA, by design: no squeeze-excitation in stages 2, 4, 5; each (kernel, expand)
// alternative of a block owns its weights (the supernet of choice.hpp), instead of OFA's sub-kernels
// cropped from one 7×7 kernel and channels taken from one expand-6 layer.
// Compile time: each searched block is an elastic_mbconv (space/elastic_mbconv.hpp): its 9 (kernel,
// expand) variants run through one run-time-geometry function. Measured with g++ 12 -O3 on a TU that
// builds one network and runs forward: 56 s user / 1.05 GB with each block a value_grid of dyn_mbconv
// (a layer composition per variant and shape), 15 s / 0.6 GB as elastic_mbconv;
// with mbconv's compile-time kernels (90 variant shapes × 3 convolutions) it would be minutes. Only the
// stem convolution is generated per shape. codegen writes mbconv (compile-time kernels) for a selected
// block, so a deployed winner runs the fast kernels.
// Resolution and width multiplier change every shape, hence the type: they are chosen outside it.
// ofa::resolutions (128, 132, ..., 224) and ofa::widths (100, 120 percent) list OFA's choices;
// ofa::dispatch<int_values<R...>, int_values<W...>>(r, w, f) calls f.template operator()<ofa_space<r, w>>()
// for the pair among those instantiated, else throws an archetype::error listing them.
// Counting: a genotype has 5 + 40 decisions, 3^45 genotypes; blocks beyond a stage's depth are
// inactive, so the distinct architectures of one (resolution, width) are (9² + 9³ + 9⁴)^5 = 7371^5
// (ofa::architectures_per_network), and of the whole family 7371^5 · 25 · 2 (ofa::architectures).
#pragma once

#include <array>
#include <string>

#include "archetype/blocks/conv_bn.hpp"
#include "archetype/blocks/dyn_mbconv.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/pool.hpp"
#include "archetype/space/codegen.hpp"
#include "archetype/space/elastic_depth.hpp"
#include "archetype/space/elastic_mbconv.hpp"
#include "archetype/space/value_choice.hpp"

namespace archetype {

namespace ofa {

inline constexpr std::array<int, 25> resolutions = [] {
    std::array<int, 25> r{};
    for (std::size_t i = 0; i < r.size(); ++i) r[i] = 128 + 4 * int(i);
    return r;
}();
inline constexpr std::array<int, 2> widths{100, 120};  // width multiplier in percent
inline constexpr std::array<int, 3> kernels{3, 5, 7};
inline constexpr std::array<int, 3> expands{3, 4, 6};
inline constexpr std::array<int, 3> depths{2, 3, 4};

// OFA's make_divisible(v, 8): the nearest multiple of 8, at least 8 and not below 90 % of v.
constexpr int make_divisible(double v, int d = 8) {
    int r = std::max(d, int(v + d / 2.0) / d * d);
    if (r < 0.9 * v) r += d;
    return r;
}
constexpr int width(int base, int percent) { return make_divisible(base * percent / 100.0); }

// "sS_bB" (its decisions are "sS_bB_k" and "sS_bB_e") and "sS_depth"
template <int S, int B>
constexpr auto block_name() {
    static_assert(S >= 0 && S < 10 && B >= 0 && B < 10);
    const char buf[6] = {'s', char('0' + S), '_', 'b', char('0' + B), '\0'};
    return fixed_string<6>(buf);
}
template <int S>
constexpr auto depth_decision() {
    const char buf[9] = {'s', char('0' + S), '_', 'd', 'e', 'p', 't', 'h', '\0'};
    return fixed_string<9>(buf);
}

template <int S, int B, int Out, int Stride, class Act>
using block = elastic_mbconv<block_name<S, B>(), Out, Stride, Act, int_values<3, 5, 7>, int_values<3, 4, 6>>;

template <int S, int Out, int Stride, class Act>
using stage = elastic_depth<depth_decision<S>(), 2, block<S, 0, Out, Stride, Act>, block<S, 1, Out, 1, Act>,
                            block<S, 2, Out, 1, Act>, block<S, 3, Out, 1, Act>>;

template <int W, int Classes>
using body = sequential<conv_bn<width(16, W), 3, 2>, hard_swish, dyn_mbconv<width(16, W), 3, 1, 1, relu>,
                        stage<1, width(24, W), 2, relu>, stage<2, width(40, W), 2, relu>,
                        stage<3, width(80, W), 2, hard_swish>, stage<4, width(112, W), 1, hard_swish>,
                        stage<5, width(160, W), 2, hard_swish>,
                        dyn_pointwise<width(960, W)>, batch_norm, hard_swish, global_avg_pool,
                        dense<width(1280, W), false>, hard_swish, dense<Classes>>;

// Distinct architectures of one network: per stage Σ_d 9^d over the depths, to the 5th power.
inline constexpr big_count architectures_per_network = [] {
    std::uint32_t per_stage = 0;
    for (int d : depths) {
        std::uint32_t p = 1;
        for (int i = 0; i < d; ++i) p *= std::uint32_t(kernels.size() * expands.size());
        per_stage += p;
    }
    big_count c{1};
    for (int s = 0; s < 5; ++s) c *= per_stage;
    return c;
}();
inline constexpr big_count architectures = [] {
    big_count c = architectures_per_network;
    c *= std::uint32_t(resolutions.size());
    c *= std::uint32_t(widths.size());
    return c;
}();

}  // namespace ofa

template <int Resolution = 224, int WidthPercent = 100, int Classes = 1000>
using ofa_space = search_space<shape{3, Resolution, Resolution}, ofa::body<WidthPercent, Classes>>;

namespace ofa {
template <class Rs, class Ws, int Classes = 1000>
struct dispatcher;
template <int... Rs, int... Ws, int Classes>
struct dispatcher<int_values<Rs...>, int_values<Ws...>, Classes> {
    template <int R, class F>
    static bool try_widths(int w, F& f) {
        return ((w == Ws ? (f.template operator()<ofa_space<R, Ws, Classes>>(), true) : false) || ...);
    }
    template <class F>
    static void run(int r, int w, F&& f) {
        if (((r == Rs && try_widths<Rs>(w, f)) || ...)) return;
        std::string known;
        ((known += (known.empty() ? "" : ", ") + std::to_string(Rs)), ...);
        std::string known_w;
        ((known_w += (known_w.empty() ? "" : ", ") + std::to_string(Ws)), ...);
        throw error("ofa::dispatch: resolution " + std::to_string(r) + " at width " + std::to_string(w) +
                    "% is not instantiated; this program has resolutions " + known + " and widths " + known_w +
                    " (add the pair to the int_values lists of ofa::dispatch)");
    }
};
// Calls f.template operator()<ofa_space<r, w, Classes>>() for the (r, w) among Rs × Ws.
template <class Rs, class Ws, int Classes = 1000, class F>
void dispatch(int r, int w, F&& f) {
    dispatcher<Rs, Ws, Classes>::run(r, w, f);
}
}  // namespace ofa

}  // namespace archetype
