// The SIMD conv2d kernels (kernels/conv2d.hpp: implicit gemm, im2col/im2row + register-tiled gemm;
// conv2d_depthwise*.hpp: direct row-blocked and flat-grid kernels) against the double-precision reference loops, over
// the benchmark's kinds of shapes at smaller sizes plus odd sizes and vector tails, and the edges of
// each forward path; one sample's forward alone equals it inside a batch, bit for bit; the
// output-channel split of the weight gradient is bit-identical to one call; layers give bit-identical
// results on 1 and 2 threads.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "archetype/graph/network.hpp"
#include "archetype/kernels/conv2d.hpp"
#include "archetype/layers/conv2d.hpp"
#include "support/random_data.hpp"

namespace at = archetype;
using test_support::rel_error;
using test_support::uniform_vector;
namespace k = archetype::kernels;

namespace {

// Forward, input gradient, weight and bias gradients over n samples; dw/db start from non-zero values
// (the kernels accumulate). Then the weight gradient split into three output-channel ranges must equal
// the single call bit for bit.
template <k::conv2d_geometry G>
void check(std::size_t n) {
    INFO("geometry c h w out k stride pad dil groups: ", G.c, " ", G.h, " ", G.w, " ", G.out, " ", G.k, " ",
         G.stride, " ", G.pad, " ", G.dil, " ", G.groups);
    const std::size_t in = std::size_t(G.c) * G.h * G.w, out = std::size_t(G.out) * G.ho() * G.wo();
    at::rng r(at::seed{std::uint64_t(G.c * 131 + G.k * 7 + G.h)});
    const auto x = uniform_vector(n * in, r), w = uniform_vector(G.weight_count(), r), b = uniform_vector(G.out, r),
               dy = uniform_vector(n * out, r), dw0 = uniform_vector(G.weight_count(), r),
               db0 = uniform_vector(G.out, r);
    std::vector<float> y(n * out, 7.0f), y_ref(n * out), dx(n * in, 7.0f), dx_ref(n * in), dw = dw0, db = db0,
        dw_ref = dw0, db_ref = db0;
    for (std::size_t s = 0; s < n; ++s) {
        k::conv2d_forward<G>(x.data() + s * in, w.data(), b.data(), y.data() + s * out);
        k::conv2d_backward_data<G>(dy.data() + s * out, w.data(), dx.data() + s * in);
        k::reference::conv2d_forward(G, x.data() + s * in, w.data(), b.data(), y_ref.data() + s * out);
        k::reference::conv2d_backward(G, x.data() + s * in, w.data(), dy.data() + s * out, dx_ref.data() + s * in,
                                      dw_ref.data(), db_ref.data());
    }
    k::conv2d_backward_weights<G>(x.data(), dy.data(), n, dw.data(), db.data());
    CHECK(rel_error(y, y_ref) < 1e-5);
    // The last sample alone, in buffers of exactly one sample (reads past the input would leave them
    // under ASan), gives the same bits as inside the batch.
    const std::vector<float> x1(x.end() - std::ptrdiff_t(in), x.end());
    std::vector<float> y1(out, 7.0f);
    k::conv2d_forward<G>(x1.data(), w.data(), b.data(), y1.data());
    CHECK(std::equal(y1.begin(), y1.end(), y.end() - std::ptrdiff_t(out)));
    std::vector<float> y_nb(out), y_nb_ref(out);  // no bias
    k::conv2d_forward<G>(x1.data(), w.data(), nullptr, y_nb.data());
    k::reference::conv2d_forward(G, x1.data(), w.data(), nullptr, y_nb_ref.data());
    CHECK(rel_error(y_nb, y_nb_ref) < 1e-5);
    CHECK(rel_error(dx, dx_ref) < 1e-5);
    CHECK(rel_error(dw, dw_ref) < 1e-5);
    CHECK(rel_error(db, db_ref) < 1e-5);

    std::vector<float> dw_split = dw0, db_split = db0;
    const int cut1 = G.out / 3, cut2 = 2 * G.out / 3 + (G.out > 2 ? 1 : 0);
    for (auto [lo, hi] : {std::pair{0, cut1}, {cut1, cut2}, {cut2, G.out}})
        k::conv2d_backward_weights<G>(x.data(), dy.data(), n, dw_split.data(), db_split.data(), lo, hi);
    CHECK(dw_split == dw);
    CHECK(db_split == db);
}

// A layer's forward, input and parameter gradients on a pool of 2 threads equal the serial run.
template <at::shape In, class D>
void check_threads(std::size_t n) {
    using net_t = at::network<In, D>;
    at::rng r(at::seed{5});
    const auto x = uniform_vector(n * In.size(), r), dy = uniform_vector(n * net_t::output_shape.size(), r);
    at::thread_pool pool(2);
    net_t serial{at::seed{6}}, threaded{at::seed{6}, &pool};
    const float* ys = serial.forward_raw(x.data(), n, true);
    const float* yt = threaded.forward_raw(x.data(), n, true);
    CHECK(std::equal(ys, ys + n * net_t::output_shape.size(), yt));
    std::vector<float> dxs(x.size()), dxt(x.size());
    serial.backward_raw(dy.data(), dxs.data());
    threaded.backward_raw(dy.data(), dxt.data());
    CHECK(dxs == dxt);
    CHECK(std::equal(serial.grads().begin(), serial.grads().end(), threaded.grads().begin()));
}

}  // namespace

// {c, h, w, out, k, stride, pad, dil, groups}
TEST_CASE("gemm path: LeNet, small CNN, 1x1, strided, grouped, odd sizes and tails") {
    check<k::conv2d_geometry{1, 28, 28, 6, 5, 1, 0, 1, 1}>(2);    // LeNet conv1
    check<k::conv2d_geometry{6, 12, 12, 16, 5, 1, 0, 1, 1}>(3);   // LeNet conv2
    check<k::conv2d_geometry{16, 14, 14, 16, 3, 1, 1, 1, 1}>(2);  // small CNN 3×3
    check<k::conv2d_geometry{64, 7, 7, 64, 3, 1, 1, 1, 1}>(1);    // deep 3×3 on 7×7
    check<k::conv2d_geometry{3, 15, 13, 32, 3, 2, 1, 1, 1}>(2);   // RGB stem, stride 2, odd plane
    check<k::conv2d_geometry{16, 8, 8, 40, 1, 1, 0, 1, 1}>(2);    // 1×1 on its own input (64 = 4 vectors)
    check<k::conv2d_geometry{32, 7, 7, 13, 1, 1, 0, 1, 1}>(2);    // 1×1, plane 49 (tail), odd out
    check<k::conv2d_geometry{8, 11, 9, 16, 1, 2, 0, 1, 1}>(2);    // 1×1 stride 2
    check<k::conv2d_geometry{5, 19, 17, 7, 7, 1, 3, 1, 1}>(1);    // 7×7, odd everything
    check<k::conv2d_geometry{8, 10, 10, 12, 3, 1, 2, 2, 4}>(2);   // grouped, dilated
    check<k::conv2d_geometry{12, 9, 9, 12, 1, 1, 0, 1, 4}>(3);    // grouped 1×1
    check<k::conv2d_geometry{3, 5, 5, 37, 3, 1, 1, 1, 1}>(2);     // M = 37: every row remainder of the tile
}

// The forward paths of conv2d_forward (forward_plan in kernels/conv2d.hpp) and their edges: implicit
// GEMM over the padded width (odd Wo, Wp not a multiple of the vector width, pad 0 read in place,
// dilation, groups, row remainders of both register tiles, a plane narrower than a vector; some of
// these shapes are left to im2col by forward_plan's estimate, which the path check below pins for
// three), the 1×1 GEMM on the input with a tail vector that overlaps its neighbour, im2col with
// unpadded rows, strides 2 and 3.
TEST_CASE("forward paths: implicit gemm, 1x1 on the input, im2col, and their edges") {
    check<k::conv2d_geometry{4, 9, 13, 12, 3, 1, 1, 1, 1}>(2);    // odd Wo = 13, Wp = 15
    check<k::conv2d_geometry{5, 10, 11, 9, 3, 1, 0, 1, 1}>(1);    // pad 0: the input read in place
    check<k::conv2d_geometry{5, 10, 11, 9, 3, 1, 0, 1, 1}>(3);
    check<k::conv2d_geometry{6, 12, 10, 8, 3, 1, 2, 2, 1}>(2);    // dilation 2, stride 1
    check<k::conv2d_geometry{3, 11, 12, 5, 3, 1, 0, 2, 1}>(1);    // dilation 2, pad 0
    check<k::conv2d_geometry{12, 9, 11, 18, 3, 1, 1, 1, 3}>(2);   // grouped, stride 1
    check<k::conv2d_geometry{7, 16, 16, 23, 3, 1, 1, 1, 1}>(1);   // M = 23 on a wide plane (8-row tiles)
    check<k::conv2d_geometry{9, 7, 7, 13, 3, 1, 1, 1, 1}>(1);     // 7×7 plane, M = 13 (6-row tiles)
    check<k::conv2d_geometry{2, 13, 13, 11, 5, 1, 2, 1, 1}>(2);   // 5×5 pad 2, odd plane
    check<k::conv2d_geometry{1, 20, 21, 16, 3, 1, 1, 1, 1}>(2);   // one-channel stem
    check<k::conv2d_geometry{4, 3, 3, 5, 3, 1, 1, 1, 1}>(2);      // Nc = 13: below one AVX-512 vector
    check<k::conv2d_geometry{3, 4, 6, 4, 3, 1, 0, 1, 1}>(1);      // 2×4 output, pad 0
    check<k::conv2d_geometry{8, 1, 17, 24, 1, 1, 0, 1, 1}>(2);    // 1×1, P = 17: one vector + 1
    check<k::conv2d_geometry{8, 4, 4, 9, 1, 1, 0, 1, 1}>(1);      // 1×1, P = 16
    check<k::conv2d_geometry{8, 3, 3, 5, 1, 1, 0, 1, 1}>(2);      // 1×1, P = 9 < one vector
    check<k::conv2d_geometry{4, 6, 6, 7, 1, 1, 1, 1, 1}>(2);      // 1×1 with padding: im2col
    check<k::conv2d_geometry{6, 13, 13, 10, 3, 2, 0, 1, 1}>(1);   // stride 2, pad 0: im2col, P = 36
    check<k::conv2d_geometry{5, 9, 9, 7, 3, 3, 1, 1, 1}>(2);      // stride 3, P = 9
}

TEST_CASE("conv2d_path names the forward path") {
    CHECK(k::conv2d_path<k::conv2d_geometry{16, 28, 28, 16, 3, 1, 1, 1, 1}>().starts_with("implicit gemm"));
    CHECK(k::conv2d_path<k::conv2d_geometry{4, 9, 13, 12, 3, 1, 1, 1, 1}>().starts_with("implicit gemm"));
    CHECK(k::conv2d_path<k::conv2d_geometry{5, 10, 11, 9, 3, 1, 0, 1, 1}>().starts_with("implicit gemm"));
    CHECK(k::conv2d_path<k::conv2d_geometry{16, 28, 28, 32, 3, 2, 1, 1, 1}>().starts_with("im2col + gemm"));
    CHECK(k::conv2d_path<k::conv2d_geometry{16, 14, 14, 64, 1, 1, 0, 1, 1}>().starts_with("1x1 gemm on the input"));
    CHECK(k::conv2d_path<k::conv2d_geometry{8, 2, 2, 8, 1, 1, 0, 1, 1}>().starts_with("im2col + gemm (padded rows)"));
    CHECK(k::conv2d_path<k::conv2d_geometry{8, 9, 9, 8, 3, 1, 1, 1, 8}>().starts_with("direct depthwise"));
}

TEST_CASE("direct depthwise path: strides, dilation, multiplier, odd sizes and tails") {
    check<k::conv2d_geometry{32, 28, 28, 32, 3, 1, 1, 1, 32}>(2);
    check<k::conv2d_geometry{8, 14, 14, 8, 5, 1, 2, 1, 8}>(3);
    check<k::conv2d_geometry{6, 28, 28, 6, 3, 2, 1, 1, 6}>(2);     // stride 2
    check<k::conv2d_geometry{4, 13, 11, 4, 7, 1, 3, 1, 4}>(2);     // 7×7 on an odd plane
    check<k::conv2d_geometry{16, 7, 7, 16, 3, 1, 1, 1, 16}>(1);    // 7×7 plane, batch 1
    check<k::conv2d_geometry{3, 9, 10, 6, 3, 1, 1, 1, 3}>(2);      // multiplier 2
    check<k::conv2d_geometry{3, 11, 9, 3, 3, 3, 0, 2, 3}>(2);      // stride 3, dilation 2, no padding
    check<k::conv2d_geometry{2, 8, 9, 4, 5, 2, 3, 1, 2}>(2);       // pad > (k−1)/2, stride 2, multiplier 2
    check<k::conv2d_geometry{5, 3, 3, 5, 3, 1, 1, 1, 5}>(3);       // tiny plane: one vector
    // the row-blocked forward (conv2d_depthwise_forward.hpp): row blocks that do not divide the rows
    // (the last overlaps), wide rows whose last column chunk overlaps, narrow rows packed m to a vector
    // with a partial last vector, stride-2 rows split in two chunks, dilation on wide rows
    check<k::conv2d_geometry{3, 31, 20, 3, 3, 1, 1, 1, 3}>(2);     // 31 rows in blocks of 11, Wo 20
    check<k::conv2d_geometry{2, 33, 37, 4, 5, 2, 2, 1, 2}>(2);     // stride 2, w 37, multiplier 2, Wo 19
    check<k::conv2d_geometry{4, 10, 3, 4, 3, 1, 1, 1, 4}>(2);      // Wo 3: three rows a vector, 10 rows
    check<k::conv2d_geometry{4, 12, 5, 8, 3, 1, 1, 1, 4}>(2);      // Wo 5: two rows a vector, multiplier 2
    check<k::conv2d_geometry{2, 20, 24, 2, 3, 1, 2, 2, 2}>(2);     // dilation 2, Wo 24
    check<k::conv2d_geometry{2, 16, 16, 2, 3, 1, 1, 1, 2}>(2);     // Wo 16: one chunk exactly
    check<k::conv2d_geometry{3, 14, 14, 3, 7, 2, 3, 1, 3}>(2);     // 7×7 stride 2, Wo 7
    check<k::conv2d_geometry{2, 40, 9, 2, 5, 1, 2, 1, 2}>(2);      // 40 narrow rows, blocks of 14 (K 5)
    // the row-blocked backward (conv2d_depthwise_backward.hpp). Input gradient as the forward of dy
    // (stride 1, pad ≤ (k−1)·dil): asymmetric padding of dy, multipliers summed in registers; the flat
    // grid for pad > (k−1)·dil. Weight gradient: blocks of R vector rows plus a tail block, last row
    // chunks whose overlap is masked, narrow rows with a partial last vector, kernel columns in groups
    // (k 5, 7), strides 2 and 3, more than one vector of channels (split across a reduction group)
    check<k::conv2d_geometry{40, 9, 9, 40, 3, 1, 1, 1, 40}>(2);    // 40 channels, cuts at 13 and 27
    check<k::conv2d_geometry{3, 23, 21, 6, 7, 1, 3, 1, 3}>(2);     // k 7, multiplier 2, Wo 21, 23 rows
    check<k::conv2d_geometry{4, 19, 17, 4, 5, 2, 2, 1, 4}>(3);     // k 5 stride 2, Wo 9 narrow
    check<k::conv2d_geometry{2, 12, 30, 2, 5, 1, 1, 1, 2}>(1);     // k 5, pad 1: dy padded by 3
    check<k::conv2d_geometry{3, 10, 10, 3, 3, 1, 3, 1, 3}>(2);     // pad 3 > k − 1: flat-grid input gradient
    check<k::conv2d_geometry{2, 15, 33, 4, 3, 1, 2, 2, 2}>(2);     // dilation 2, multiplier 2, Wo 33
    check<k::conv2d_geometry{3, 17, 15, 3, 7, 2, 3, 1, 3}>(3);     // k 7 stride 2, Wo 8
    check<k::conv2d_geometry{5, 25, 27, 5, 5, 1, 2, 1, 5}>(1);     // k 5, odd 25×27, batch 1
    check<k::conv2d_geometry{4, 6, 5, 12, 3, 1, 1, 1, 4}>(3);      // multiplier 3, Wo 5: three rows a vector
    check<k::conv2d_geometry{4, 7, 7, 4, 1, 1, 0, 1, 4}>(2);       // k 1
    check<k::conv2d_geometry{3, 29, 31, 3, 3, 3, 1, 1, 3}>(2);     // stride 3, Wo 11
}

TEST_CASE("depthwise path names: row-blocked or flat-grid input gradient") {
    auto input_gradient = [](const std::string& path) { return path.substr(path.find(", ") + 2); };
    using g = k::conv2d_geometry;
    CHECK(input_gradient(k::conv2d_path<g{8, 9, 9, 8, 3, 1, 1, 1, 8}>()) == "row-blocked input gradient)");
    CHECK(input_gradient(k::conv2d_path<g{8, 9, 9, 8, 3, 2, 1, 1, 8}>()) == "flat-grid input gradient)");
    CHECK(input_gradient(k::conv2d_path<g{8, 9, 9, 8, 3, 1, 3, 1, 8}>()) == "flat-grid input gradient)");
}

TEST_CASE("one and two threads give the same bits") {
    check_threads<at::shape{1, 28, 28}, at::conv2d<6, 5>>(7);
    check_threads<at::shape{6, 12, 12}, at::conv2d<16, 5>>(5);
    check_threads<at::shape{8, 9, 9}, at::depthwise_conv2d<3, 1, 1>>(5);
    check_threads<at::shape{8, 9, 9}, at::depthwise_conv2d<5, 2, 2, 1, 2>>(3);
    check_threads<at::shape{20, 11, 13}, at::depthwise_conv2d<7, 1, 3>>(5);  // channels past one vector
    check_threads<at::shape{12, 7, 7}, at::conv2d<9, 1>>(4);
    check_threads<at::shape{5, 11, 9}, at::conv2d<14, 3, 1, 1>>(5);  // implicit gemm
    check_threads<at::shape{6, 10, 10}, at::conv2d<8, 3, 2, 1>>(3);  // im2col, stride 2
}
