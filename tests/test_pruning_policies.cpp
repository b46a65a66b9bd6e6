// Pruning masks and policies: which layers are prunable, magnitude (layer-wise, global), filters by
// L1/L2, N:M, blocks, ties, monotonicity, the sparsity report and the errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "archetype/compress/pruning_policies.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/graph/sequential.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/batchnorm.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"

namespace at = archetype;
namespace pr = archetype::pruning;

// leaves: 0 conv (8 filters × 4·3·3 = 36), 1 batch_norm, 2 relu, 3 flatten, 4 dense<8> (8 × 72), 5 dense<4> (4 × 8)
using body = at::sequential<at::conv2d<8, 3>, at::batch_norm, at::relu, at::flatten, at::dense<8>, at::dense<4>>;
using net_t = at::network<at::shape{4, 5, 5}, body>;
using two_four = pr::n_of_m<2, 4>;
using blocks_3x4 = pr::blocks<3, 4>;
constexpr std::size_t conv_w = 288, bn_at = 296, dense8_at = 312, dense8_w = 576, dense4_at = 896, dense4_w = 32;

namespace {

std::vector<float> copy(std::span<const float> p) { return {p.begin(), p.end()}; }

std::size_t pruned_in(const pr::mask& m, std::size_t from, std::size_t n) {
    std::size_t c = 0;
    for (std::size_t i = from; i < from + n; ++i) c += !m.kept(i);
    return c;
}

// Every pruned |w| is <= every kept |w| among the given parameter ranges (w: weights before pruning).
bool threshold_split(const pr::mask& m, const std::vector<float>& w, std::vector<std::pair<std::size_t, std::size_t>> ranges) {
    float max_pruned = -1.0f, min_kept = std::numeric_limits<float>::infinity();
    for (auto [from, n] : ranges) {
        for (std::size_t i = from; i < from + n; ++i) {
            if (m.kept(i)) {
                min_kept = std::min(min_kept, std::fabs(w[i]));
            } else {
                max_pruned = std::max(max_pruned, std::fabs(w[i]));
            }
        }
    }
    return max_pruned <= min_kept;
}

}  // namespace

TEST_CASE("the mask knows the prunable layers: conv and dense weights, never biases or batch norm") {
    const auto m = pr::mask::of<net_t>();
    REQUIRE(m.size() == net_t::param_count);
    REQUIRE(m.layers().size() == 3);
    const auto& c = m.layers()[0];
    CHECK(c.leaf_index == 0);
    CHECK(c.offset == 0);
    CHECK(c.rows == 8);
    CHECK(c.row == 36);
    CHECK(c.kernel == 9);
    CHECK(c.name == "#0 archetype::conv2d<8, 3, 1, 0, 1, 1, true>");
    CHECK(m.layers()[1].leaf_index == 4);
    CHECK(m.layers()[1].offset == dense8_at);
    CHECK(m.layers()[1].row == 72);
    CHECK(m.layers()[1].kernel == 1);
    CHECK(m.layers()[2].leaf_index == 5);
    CHECK(m.layers()[2].offset == dense4_at);
    CHECK(m.layer_at_leaf(5).weights() == dense4_w);
    CHECK_THROWS_WITH_AS(m.layer_at_leaf(1), doctest::Contains("leaf 1 has no prunable weights"), at::error);
    CHECK_THROWS_WITH_AS(m.layer_at_leaf(1), doctest::Contains("0, 4, 5"), at::error);
}

TEST_CASE("layer-wise magnitude prunes round(s·n) smallest weights of each layer and nothing else") {
    net_t net{at::seed{1}};
    const auto before = copy(net.params());
    auto m = pr::mask::of<net_t>();
    pr::prune<pr::magnitude>(net, m, 0.3);
    // round(0.3·288) = round(86.4) = 86, round(172.8) = 173, round(9.6) = 10
    CHECK(pruned_in(m, 0, conv_w) == 86);
    CHECK(pruned_in(m, dense8_at, dense8_w) == 173);
    CHECK(pruned_in(m, dense4_at, dense4_w) == 10);
    CHECK(pruned_in(m, 0, m.size()) == 86 + 173 + 10);  // biases and batch norm untouched
    CHECK(threshold_split(m, before, {{0, conv_w}}));
    CHECK(threshold_split(m, before, {{dense8_at, dense8_w}}));
    CHECK(threshold_split(m, before, {{dense4_at, dense4_w}}));
    const auto p = net.params();
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (m.kept(i)) {
            CHECK(p[i] == before[i]);
        } else {
            CHECK(p[i] == 0.0f);
        }
    }
    // s = 0.5 divides every layer: the overall sparsity is exactly 0.5
    pr::prune<pr::magnitude>(net, m, 0.5);
    const auto r = m.report(net.params());
    CHECK(r.pruned == 448);
    CHECK(r.weights == 896);
    CHECK(r.sparsity() == 0.5);
}

TEST_CASE("global magnitude gives the overall target exactly with one threshold across layers") {
    net_t net{at::seed{2}};
    const auto before = copy(net.params());
    auto m = pr::mask::of<net_t>();
    pr::prune<pr::global_magnitude>(net, m, 0.3);
    const auto r = m.report(net.params());
    CHECK(r.pruned == 269);  // round(0.3 · 896) = round(268.8)
    CHECK(threshold_split(m, before, {{0, conv_w}, {dense8_at, dense8_w}, {dense4_at, dense4_w}}));
    // dense<8> has the smallest init bound (1/√72): it loses more than its share, dense<4> (1/√8) less
    CHECK(r.layers[1].sparsity() > 0.3);
    CHECK(r.layers[2].sparsity() < 0.3);
    CHECK(pruned_in(m, bn_at, 16) == 0);
}

TEST_CASE("ties go to the lower index, and pruning never revives a weight") {
    net_t net{at::seed{3}};
    auto p = net.params();
    std::fill(p.begin() + dense4_at, p.begin() + dense4_at + dense4_w, 0.25f);
    auto m = pr::mask::of<net_t>();
    pr::prune_layer<pr::magnitude>(net, m, 5, 0.25);
    for (std::size_t j = 0; j < dense4_w; ++j) CHECK(m.kept(dense4_at + j) == (j >= 8));
    CHECK(pruned_in(m, 0, dense4_at) == 0);  // the other layers untouched

    net_t other{at::seed{4}};
    auto m2 = pr::mask::of<net_t>();
    pr::prune<pr::magnitude>(other, m2, 0.5);
    const auto half = m2;
    pr::prune<pr::magnitude>(other, m2, 0.3);  // a lower target: nothing comes back
    CHECK(pruned_in(m2, 0, m2.size()) == 448);
    pr::prune<pr::magnitude>(other, m2, 0.75);  // a higher one: a superset
    CHECK(pruned_in(m2, 0, m2.size()) == 672);
    for (std::size_t i = 0; i < m2.size(); ++i)
        if (!half.kept(i)) CHECK(!m2.kept(i));
}

TEST_CASE("2:4 keeps exactly the two largest magnitudes of every four along the reduction axis") {
    net_t net{at::seed{5}};
    const auto before = copy(net.params());
    auto m = pr::mask::of<net_t>();
    static_assert(pr::n_of_m<2, 4>::sparsity == 0.5);
    pr::prune<pr::n_of_m<2, 4>>(net, m, pr::n_of_m<2, 4>::sparsity);
    std::size_t groups = 0;
    for (const auto& l : m.layers()) {
        for (std::size_t g = l.offset; g < l.offset + l.weights(); g += 4, ++groups) {
            std::size_t kept = 0;
            float min_kept = 1e9f, max_pruned = -1.0f;
            for (std::size_t i = g; i < g + 4; ++i) {
                kept += m.kept(i);
                if (m.kept(i)) {
                    min_kept = std::min(min_kept, std::fabs(before[i]));
                } else {
                    max_pruned = std::max(max_pruned, std::fabs(before[i]));
                }
            }
            CHECK(kept == 2);
            CHECK(max_pruned < min_kept);  // random weights: no ties
        }
    }
    CHECK(groups == 896 / 4);
    // a 0.25 target on a fresh mask keeps three of every four
    auto m3 = pr::mask::of<net_t>();
    pr::prune<pr::n_of_m<2, 4>>(std::span<const float>(before), m3, 0.25);
    CHECK(pruned_in(m3, 0, m3.size()) == 896 / 4);
    CHECK_THROWS_WITH_AS(pr::prune<two_four>(net, m, 0.75), doctest::Contains("keeps at least 2"), at::error);
}

TEST_CASE("N:M on a layer whose reduction axis M does not divide is an error naming the layer") {
    using odd_t = at::network<at::shape{3, 5, 5}, at::sequential<at::conv2d<4, 3>, at::flatten, at::dense<4>>>;
    odd_t net{at::seed{6}};
    auto m = pr::mask::of<odd_t>();
    CHECK_THROWS_WITH_AS(pr::prune<two_four>(net, m, 0.5), doctest::Contains("#0 archetype::conv2d<4, 3"),
                         at::error);
    CHECK_THROWS_WITH_AS(pr::prune<two_four>(net, m, 0.5), doctest::Contains("27 weights"), at::error);
    const std::size_t dense_only[] = {2};  // the layers it fits
    pr::prune<pr::n_of_m<2, 4>>(net, m, 0.5, dense_only);
    CHECK(m.report(net.params()).layers[1].pruned == 4 * 36 / 2);
    CHECK(m.report(net.params()).layers[0].pruned == 0);
}

TEST_CASE("filters keep the filters of largest L1 or L2 norm, masking whole rows and no bias") {
    net_t net{at::seed{7}};
    auto p = net.params();
    const float rows[4][8] = {{1, 1, 1, 1, 1, 1, 1, 1},           // L1 8, L2 2.83
                              {5, 0, 0, 0, 0, 0, 0, 0},           // L1 5, L2 5
                              {.5f, .5f, .5f, .5f, .5f, .5f, .5f, .5f},  // L1 4, L2 1.41
                              {0, 0, -3, 3, 0, 0, 0, 0}};         // L1 6, L2 4.24
    for (int r = 0; r < 4; ++r) std::copy(rows[r], rows[r] + 8, p.begin() + dense4_at + 8 * r);
    const auto check_rows = [&](pr::mask& m, std::vector<bool> kept_rows) {
        for (std::size_t r = 0; r < 4; ++r)
            for (std::size_t j = 0; j < 8; ++j) CHECK(m.kept(dense4_at + 8 * r + j) == kept_rows[r]);
        for (std::size_t b = 0; b < 4; ++b) CHECK(m.kept(dense4_at + dense4_w + b));
    };
    auto l1 = pr::mask::of<net_t>();
    pr::prune<pr::filters<pr::norm::l1>>(std::span<const float>(p), l1, 0.5);
    check_rows(l1, {true, false, false, true});
    auto l2 = pr::mask::of<net_t>();
    pr::prune<pr::filters<pr::norm::l2>>(std::span<const float>(p), l2, 0.5);
    check_rows(l2, {false, true, false, true});
    CHECK(pruned_in(l2, 0, conv_w) == 4 * 36);  // 4 of the conv's 8 filters, whole
    for (std::size_t f = 0; f < 8; ++f) CHECK(pruned_in(l2, f * 36, 36) % 36 == 0);
}

TEST_CASE("blocks prune whole R×C blocks by norm; a shape they do not divide is an error") {
    net_t net{at::seed{8}};
    auto p = net.params();
    for (std::size_t j = 0; j < dense4_w; ++j) p[dense4_at + j] = float(j % 8 < 4 ? 1 + j / 8 : 10 + j / 8);
    // 1×4 blocks of dense<4>: block (r, 0) has L2 norm 2(1 + r), block (r, 1) 2(10 + r)
    auto m = pr::mask::of<net_t>();
    pr::prune_layer<pr::blocks<1, 4>>(net, m, 5, 0.5);
    for (std::size_t j = 0; j < dense4_w; ++j) CHECK(m.kept(dense4_at + j) == (j % 8 >= 4));
    // 4×4 blocks of the conv (8 × 36): 2 × 9 blocks, a quarter (round(4.5) = 5 blocks of 16) pruned
    pr::prune_layer<pr::blocks<4, 4, pr::norm::l1>>(net, m, 0, 0.25);
    CHECK(pruned_in(m, 0, conv_w) == 5 * 16);
    CHECK_THROWS_WITH_AS(pr::prune_layer<blocks_3x4>(net, m, 5, 0.5), doctest::Contains("#5 archetype::dense<4"),
                         at::error);
}

TEST_CASE("the sparsity report counts per layer and overall, with dense and sparse sizes") {
    net_t net{at::seed{9}};
    auto m = pr::mask::of<net_t>();
    pr::prune<pr::magnitude>(net, m, 0.5);
    const auto r = m.report(net.params());
    REQUIRE(r.layers.size() == 3);
    CHECK(r.layers[0].pruned == 144);
    CHECK(r.layers[0].zeros == 144);  // random weights are never 0 before pruning
    CHECK(r.layers[0].dense_bytes() == 288 * 4);
    CHECK(r.layers[0].sparse_bytes() == 144 * 4 + 36);
    CHECK(r.layers[2].sparse_bytes() == 16 * 4 + 4);
    CHECK(r.parameters == net_t::param_count);
    CHECK(r.dense_bytes() == net_t::param_count * 4);
    CHECK(r.sparse_bytes() == (net_t::param_count - 896) * 4 + 448 * 4 + 36 + 72 + 4);
    const std::string s = r.str();
    CHECK(s.find("#4 archetype::dense<8, true>") != std::string::npos);
    CHECK(s.find("50.00%") != std::string::npos);
}

TEST_CASE("invalid sparsities and a mask of another network are errors") {
    net_t net{at::seed{10}};
    auto m = pr::mask::of<net_t>();
    for (double s : {1.0, -0.1, 1.5, std::nan("")})
        CHECK_THROWS_WITH_AS(pr::prune<pr::magnitude>(net, m, s), doctest::Contains("outside [0, 1)"), at::error);
    CHECK_THROWS_AS(pr::prune<pr::global_magnitude>(net, m, 1.0), at::error);
    CHECK_THROWS_WITH_AS(pr::prune_layer<pr::magnitude>(net, m, 2, 0.5), doctest::Contains("leaf 2"), at::error);
    using small_t = at::network<at::shape{4, 1, 1}, at::dense<2>>;
    auto other = pr::mask::of<small_t>();
    CHECK_THROWS_WITH_AS(pr::prune<pr::magnitude>(net, other, 0.5), doctest::Contains("made for 10 parameters"),
                         at::error);
    CHECK_THROWS_AS(other.apply(net.params()), at::error);
}
