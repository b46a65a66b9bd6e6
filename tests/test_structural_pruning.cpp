// Structural channel pruning (compress/structural_pruning*.hpp): the pruned type's shapes and costs (hand
// numbers), which channels survive (hand-computed norms, ties), and that the pruned network computes what
// the big network computes when the removed channels are masked out downstream, by hand, at the next
// layer's input columns: sequential conv-bn-relu-pool-dense, a residual block with an MBConv, a concat.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "archetype/blocks/mbconv.hpp"
#include "archetype/compress/structural_pruning_weights.hpp"
#include "archetype/space/codegen.hpp"

namespace at = archetype;
using half = at::keep_ratio<std::ratio<1, 2>>;

// --- sequential: conv 6, conv 8, dense 12 are prunable; the last dense is the output ---
using seq_body = at::sequential<at::conv2d<6, 3, 1, 1>, at::batch_norm, at::relu, at::max_pool<2>,  //
                                at::conv2d<8, 3, 1, 1>, at::batch_norm, at::relu, at::max_pool<2>,  //
                                at::flatten, at::dense<12>, at::relu, at::dense<5>>;
using seq_net = at::network<at::shape{2, 8, 8}, seq_body>;
using seq_small = at::structurally_pruned_t<seq_net, half>;
static_assert(at::prunable_widths_v<seq_net> == std::array<int, 3>{6, 8, 12});
static_assert(std::is_same_v<seq_small::body,
                             at::sequential<at::conv2d<3, 3, 1, 1>, at::batch_norm, at::relu, at::max_pool<2>,
                                            at::conv2d<4, 3, 1, 1>, at::batch_norm, at::relu, at::max_pool<2>,
                                            at::flatten, at::dense<6>, at::relu, at::dense<5>>>);
// conv 3·2·9+3, BN 6, conv 4·3·9+4, BN 8, dense (4·2·2)·6+6, dense 6·5+5
static_assert(at::params_v<seq_small> == 57 + 6 + 112 + 8 + 102 + 35);
// conv 3·2·9 at 8×8, conv 4·3·9 at 4×4, dense 16·6, dense 6·5
static_assert(at::macs_v<seq_small> == 3456 + 1728 + 96 + 30);
// keeping every width gives back the very same type
static_assert(std::is_same_v<at::structurally_pruned_t<seq_net, at::keep_widths<6, 8, 12>>, seq_net>);
static_assert(std::is_same_v<at::structurally_pruned_t<seq_net, at::keep_ratio<std::ratio<1>>>, seq_net>);
// ⌈w·r⌉: a third of 6, 8, 12 keeps 2, 3, 4
static_assert(at::prunable_widths_v<at::structurally_pruned_t<seq_net, at::keep_ratio<std::ratio<1, 3>>>> ==
              std::array<int, 3>{2, 3, 4});

// --- residual: only the widths inside the blocks are prunable; the 8 channels meeting at adds stay ---
using res_body = at::sequential<at::conv2d<8, 3, 1, 1>, at::batch_norm, at::relu,                           //
                                at::residual<at::conv2d<12, 3, 1, 1>, at::batch_norm, at::relu,             //
                                             at::conv2d<8, 3, 1, 1>, at::batch_norm>,                      //
                                at::relu, at::mbconv<8, 3, 1, 2, at::relu>, at::global_avg_pool, at::dense<5>>;
using res_net = at::network<at::shape{4, 6, 6}, res_body>;
using res_small = at::structurally_pruned_t<res_net, half>;
static_assert(at::prunable_widths_v<res_net> == std::array<int, 2>{12, 16});  // bottleneck inner, MBConv expansion
static_assert(std::is_same_v<res_small::body,
                             at::sequential<at::conv2d<8, 3, 1, 1>, at::batch_norm, at::relu,
                                            at::residual<at::conv2d<6, 3, 1, 1>, at::batch_norm, at::relu,
                                                         at::conv2d<8, 3, 1, 1>, at::batch_norm>,
                                            at::relu,
                                            at::sum<at::identity,
                                                    at::sequential<at::conv2d<8, 1, 1, 0, 1, 1, false>, at::batch_norm,
                                                                   at::relu, at::depthwise_conv2d<3, 1, 1, 1, 1, false>,
                                                                   at::batch_norm, at::relu,
                                                                   at::conv2d<8, 1, 1, 0, 1, 1, false>, at::batch_norm>>,
                                            at::global_avg_pool, at::dense<5>>>);
// conv 8·4·9+8, BN, conv 6·8·9+6, BN, conv 8·6·9+8, BN, expand 8·8, BN, dw 8·9, BN, project 8·8, BN, dense 8·5+5
static_assert(at::params_v<res_small> == 296 + 16 + 438 + 12 + 440 + 16 + 64 + 16 + 72 + 16 + 64 + 16 + 45);
static_assert(at::macs_v<res_small> == 36 * (288 + 432 + 432 + 64 + 72 + 64) + 40);

// --- concat: both branches and the consumer conv are prunable (explicit kept widths) ---
using cat_body = at::sequential<at::concat<at::sequential<at::conv2d<6, 3, 1, 1>, at::batch_norm, at::relu>,
                                           at::sequential<at::conv2d<4, 1>, at::relu>>,
                                at::conv2d<5, 3, 1, 1>, at::relu, at::global_avg_pool, at::dense<3>>;
using cat_net = at::network<at::shape{3, 6, 6}, cat_body>;
using cat_small = at::structurally_pruned_t<cat_net, at::keep_widths<2, 3, 4>>;
static_assert(at::prunable_widths_v<cat_net> == std::array<int, 3>{6, 4, 5});
static_assert(cat_small::op::child<1>::in == at::shape{5, 6, 6});  // 2 + 3 channels into the consumer
// conv 2·3·9+2, BN 4, conv 3·3+3, conv 4·5·9+4, dense 4·3+3
static_assert(at::params_v<cat_small> == 56 + 4 + 12 + 184 + 15);
static_assert(at::macs_v<cat_small> == 36 * (54 + 9 + 180) + 12);

namespace {

// Random BN statistics (running mean in [-0.5, 0.5], variance in [0.5, 2]), so every copied value matters.
struct random_stats {
    float* s;
    at::rng& r;
    template <class Op>
    void leaf(std::size_t, std::size_t so) {
        for (std::size_t i = 0; i < Op::state_count; ++i)
            s[so + i] = i < Op::state_count / 2 ? r.uniform(-0.5f, 0.5f) : r.uniform(0.5f, 2.0f);
    }
};
template <class Net>
void randomize(Net& net, at::rng& r) {
    for (float& w : net.params()) w = r.uniform(-1.0f, 1.0f);
    random_stats v{net.state().data(), r};
    at::visit_leaves<typename Net::op>(v);
}

// Parameter offset of every leaf, in forward order.
struct offsets_of_leaves {
    std::vector<std::size_t> at;
    template <class Op>
    void leaf(std::size_t w, std::size_t) {
        at.push_back(w);
    }
};
template <class Net>
std::vector<std::size_t> leaf_offsets() {
    offsets_of_leaves v;
    at::visit_leaves<typename Net::op>(v);
    return v.at;
}

// Zeroes, in a [out][cin][kk] weight at w, the input columns c·kk ... of the channels c not in `kept`
// (channel c offset by `first` in the consumer's input).
void zero_columns(float* w, std::size_t out, std::size_t cin, std::size_t kk, std::size_t first, std::size_t width,
                  const std::vector<std::size_t>& kept) {
    for (std::size_t c = 0; c < width; ++c) {
        if (std::find(kept.begin(), kept.end(), c) != kept.end()) continue;
        for (std::size_t o = 0; o < out; ++o) std::fill_n(w + (o * cin + first + c) * kk, kk, 0.0f);
    }
}

// The masked big network's and the pruned network's outputs on the same random batch agree within
// 1e-6·(1 + |y|): the same nonzero products, perhaps summed in another order (observed: equal bits).
template <class Big, class Small>
void check_same_outputs(Big& masked, Small& small, at::rng& r) {
    constexpr std::size_t batch = 3;
    std::vector<float> x(batch * Big::input_shape.size());
    for (float& v : x) v = r.uniform(-1.0f, 1.0f);
    const float* yb = masked.forward_raw(x.data(), batch, false);
    const std::vector<float> big(yb, yb + batch * Big::output_shape.size());
    const float* ys = small.forward_raw(x.data(), batch, false);
    double worst = 0, largest = 0;
    for (std::size_t i = 0; i < big.size(); ++i) {
        worst = std::max(worst, std::fabs(double(big[i]) - double(ys[i])) / (1.0 + std::fabs(double(big[i]))));
        largest = std::max(largest, std::fabs(double(big[i])));
    }
    CHECK(worst <= 1e-6);
    CHECK(largest > 0.1);  // the outputs are not trivially zero
}

}  // namespace

TEST_CASE("sequential: the kept filters are those of largest L1 norm, in order, and the outputs match") {
    at::rng r{at::seed{11}};
    seq_net big{at::seed{1}};
    randomize(big, r);
    std::vector<at::pruned_layer> rep;
    auto small = at::prune_channels<seq_small>(big, at::filter_norm::l1, &rep);
    REQUIRE(rep.size() == 3);
    CHECK(rep[0].width == 6);
    CHECK(rep[2].layer == "archetype::dense<12, true>");

    // the first conv's 6 filters of 2·9 weights: the 3 largest L1 norms, by hand
    std::vector<std::pair<double, std::size_t>> norms;
    for (std::size_t o = 0; o < 6; ++o) {
        double n = 0;
        for (std::size_t i = 0; i < 18; ++i) n += std::fabs(big.params()[o * 18 + i]);
        norms.push_back({-n, o});
    }
    std::sort(norms.begin(), norms.end());
    std::vector<std::size_t> expect{norms[0].second, norms[1].second, norms[2].second};
    std::sort(expect.begin(), expect.end());
    CHECK(rep[0].kept == expect);
    // its bias and the BN after it are taken at the kept channels
    const auto offs = leaf_offsets<seq_net>(), small_offs = leaf_offsets<seq_small>();
    for (std::size_t j = 0; j < 3; ++j) {
        CHECK(small.params()[small_offs[0] + 54 + j] == big.params()[offs[0] + 108 + expect[j]]);
        CHECK(small.params()[small_offs[1] + 3 + j] == big.params()[offs[1] + 6 + expect[j]]);  // β
        CHECK(small.state()[3 + j] == big.state()[6 + expect[j]]);                               // running var
    }

    // mask: conv 2's input columns, dense 12's columns c·4 + p (2×2 after the pools), dense 5's columns
    seq_net masked = big;
    float* w = masked.params().data();
    zero_columns(w + offs[4], 8, 6, 9, 0, 6, rep[0].kept);
    zero_columns(w + offs[9], 12, 8, 4, 0, 8, rep[1].kept);
    zero_columns(w + offs[11], 5, 12, 1, 0, 12, rep[2].kept);
    check_same_outputs(masked, small, r);

    // L2 may choose other filters; the outputs still match their masked network
    auto small2 = at::prune_channels<seq_small>(big, at::filter_norm::l2, &rep);
    seq_net masked2 = big;
    w = masked2.params().data();
    zero_columns(w + offs[4], 8, 6, 9, 0, 6, rep[0].kept);
    zero_columns(w + offs[9], 12, 8, 4, 0, 8, rep[1].kept);
    zero_columns(w + offs[11], 5, 12, 1, 0, 12, rep[2].kept);
    check_same_outputs(masked2, small2, r);
}

TEST_CASE("keeping every width copies the network exactly; ties keep the lower index") {
    at::rng r{at::seed{12}};
    seq_net big{at::seed{2}};
    randomize(big, r);
    auto same = at::prune_channels<seq_net>(big);
    CHECK(std::equal(same.params().begin(), same.params().end(), big.params().begin()));
    CHECK(std::equal(same.state().begin(), same.state().end(), big.state().begin()));

    // filters 1, 3, 4 of the first conv get the same L1 norm as filter 5 (the largest): 1, 3, 4 are kept
    float* w = big.params().data();
    for (std::size_t i = 0; i < 18; ++i) w[5 * 18 + i] = 2.0f;
    for (std::size_t o : {1, 3, 4})
        for (std::size_t i = 0; i < 18; ++i) w[o * 18 + i] = (i % 2 ? 2.0f : -2.0f);
    std::vector<at::pruned_layer> rep;
    (void)at::prune_channels<seq_small>(big, at::filter_norm::l1, &rep);
    CHECK(rep[0].kept == std::vector<std::size_t>{1, 3, 4});

    w[7] = std::nanf("");
    CHECK_THROWS_WITH_AS((void)at::prune_channels<seq_small>(big), doctest::Contains("non-finite"), at::error);
}

TEST_CASE("residual and MBConv: inner widths pruned, add widths kept, outputs match the masked network") {
    at::rng r{at::seed{13}};
    res_net big{at::seed{3}};
    randomize(big, r);
    std::vector<at::pruned_layer> rep;
    auto small = at::prune_channels<res_small>(big, at::filter_norm::l2, &rep);
    REQUIRE(rep.size() == 2);
    CHECK(rep[0].kept.size() == 6);
    CHECK(rep[1].kept.size() == 8);
    // leaves: 0 conv, 1 bn, 2 relu, 3 skip, 4 conv12, 5 bn, 6 relu, 7 conv8, 8 bn, 9 relu, 10 skip, 11 expand,
    // 12 bn, 13 relu, 14 dw, 15 bn, 16 relu, 17 project, ...
    const auto offs = leaf_offsets<res_net>();
    res_net masked = big;
    float* w = masked.params().data();
    zero_columns(w + offs[7], 8, 12, 9, 0, 12, rep[0].kept);
    zero_columns(w + offs[17], 8, 16, 1, 0, 16, rep[1].kept);
    check_same_outputs(masked, small, r);
    // the depthwise filters of the kept expansion channels are carried (9 weights each)
    const auto small_offs = leaf_offsets<res_small>();
    for (std::size_t j = 0; j < 8; ++j)
        CHECK(small.params()[small_offs[14] + 9 * j + 4] == big.params()[offs[14] + 9 * rep[1].kept[j] + 4]);
}

TEST_CASE("concat: branches pruned independently, consumer columns mapped in concat order") {
    at::rng r{at::seed{14}};
    cat_net big{at::seed{4}};
    randomize(big, r);
    std::vector<at::pruned_layer> rep;
    auto small = at::prune_channels<cat_small>(big, at::filter_norm::l1, &rep);
    REQUIRE(rep.size() == 3);
    // leaves: 0 conv6, 1 bn, 2 relu, 3 conv4, 4 relu, 5 conv5, 6 relu, 7 gap, 8 dense
    const auto offs = leaf_offsets<cat_net>();
    cat_net masked = big;
    float* w = masked.params().data();
    zero_columns(w + offs[5], 5, 10, 9, 0, 6, rep[0].kept);
    zero_columns(w + offs[5], 5, 10, 9, 6, 4, rep[1].kept);
    zero_columns(w + offs[8], 3, 5, 1, 0, 5, rep[2].kept);
    check_same_outputs(masked, small, r);
}

TEST_CASE("the pruned type and its weights as a header") {
    at::rng r{at::seed{15}};
    seq_net big{at::seed{5}};
    randomize(big, r);
    auto small = at::prune_channels<seq_small>(big);
    const std::string h = at::generate_network_header(small, {.name = "small_net"}, "pruned from seq_net");
    CHECK(h.find("using small_net = " + seq_small::spelling() + ";") != std::string::npos);
    CHECK(h.find("std::array<float, " + std::to_string(seq_small::param_count) + "> small_net_params") !=
          std::string::npos);
    CHECK(h.find("// pruned from seq_net") != std::string::npos);
    CHECK(h.find(at::detail::hex_float(small.params()[0], 0, "parameter")) != std::string::npos);
}
