// Integer convolution, depthwise convolution, dense, pooling and add (kernels/int8_*.hpp):
// 1. every compiled path equals the plain-loop scalar twin EXACTLY (u8 output with the float and the
//    fixed-point requantization, f32 dequantized output), over LeNet's and small CNNs' geometries plus
//    padding, stride 2, dilation, groups, 1×1, depthwise multipliers and row tails;
// 2. the dequantized result is within one output quantization step of the fp32 result computed from the
//    dequantized operands (fp32 kernels::reference on dequantized input and weights: what remains is the
//    kernel's own error, the output rounding, ≤ 0.5 step plus the bias rounding), and within 1.5 steps of
//    fp32 on the original float data (adds the input and weight quantization error).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "archetype/compress/quantize.hpp"
#include "archetype/core/rng.hpp"
#include "archetype/kernels/conv2d_geometry.hpp"
#include "archetype/kernels/int8_conv2d.hpp"
#include "archetype/kernels/int8_dense.hpp"
#include "archetype/kernels/int8_eltwise.hpp"

namespace at = archetype;
namespace k = archetype::kernels;
namespace q = archetype::quant;

namespace {

using act_q = q::quantizer<q::pytorch_rounding, q::uint8_range>;
using w_q = q::quantizer<q::pytorch_rounding, q::int8_narrow_range, q::per_channel>;

// A quantized layer problem: float input and weights, their quantized forms, the epilogue for an output
// range taken from the fp32 result, and that fp32 result (reference kernels on the float data).
struct layer_problem {
    std::size_t channels, depth;
    std::vector<float> xf, wf, bf, yf, xd, wd, y_orig;
    std::vector<std::uint8_t> x;
    std::vector<std::int8_t> w;
    q::qparams in_q, out_q;
    q::channel_qparams wq;
    std::vector<std::int32_t> bias, mantissa, shift;
    std::vector<float> mult, dq;

    layer_problem(std::size_t in_count, std::size_t ch, std::size_t d, std::uint64_t seed)
        : channels(ch), depth(d), xf(in_count), wf(ch * d), bf(ch), x(in_count), w(ch * d) {
        at::rng g{at::seed{seed}};
        for (auto& v : xf) v = g.uniform(-0.3f, 1.0f);
        for (auto& v : wf) v = g.uniform(-1.0f, 1.0f) / std::sqrt(float(d));
        for (auto& v : bf) v = g.uniform(-0.2f, 0.2f);
        in_q = q::choose_qparams<q::uint8_range>(-0.3f, 1.0f);
        act_q::quantize(xf.data(), x.data(), in_count, in_q);
        std::vector<float> lo(ch), hi(ch);
        for (std::size_t o = 0; o < ch; ++o) {
            lo[o] = *std::min_element(wf.begin() + o * d, wf.begin() + (o + 1) * d);
            hi[o] = *std::max_element(wf.begin() + o * d, wf.begin() + (o + 1) * d);
        }
        wq = q::choose_qparams<q::int8_narrow_range, q::symmetric>(lo, hi);
        w_q::quantize(wf.data(), w.data(), q::channel_layout{1, ch, d}, wq);
        xd.resize(in_count);
        wd.resize(ch * d);
        act_q::dequantize(x.data(), xd.data(), in_count, in_q);
        w_q::dequantize(w.data(), wd.data(), q::channel_layout{1, ch, d}, wq);
    }
    // After yf is known: output qparams from its range, then the epilogue arrays.
    void finish(const std::vector<k::int8_matrix>& packs) {
        const auto [mn, mx] = std::minmax_element(yf.begin(), yf.end());
        out_q = q::choose_qparams<q::uint8_range>(*mn, *mx);
        const auto sums = k::int8_row_sums(w.data(), channels, depth);
        for (const auto& p : packs) CHECK(p.row_sums == sums);
        for (std::size_t o = 0; o < channels; ++o) {
            const float s = in_q.scale * wq.scale[o];
            bias.push_back(std::int32_t(std::nearbyint(bf[o] / s)) - in_q.zero_point * sums[o]);
            mult.push_back(q::float_requantization::make(in_q.scale, wq.scale[o], out_q.scale));
            const auto m = q::fixed_point_requantization::make(in_q.scale, wq.scale[o], out_q.scale);
            mantissa.push_back(m.mantissa);
            shift.push_back(m.shift);
            dq.push_back(s);
        }
    }
    k::int8_epilogue epilogue(bool fixed) const {
        k::int8_epilogue e;
        e.bias = bias.data();
        e.mantissa = fixed ? mantissa.data() : nullptr;
        e.shift = fixed ? shift.data() : nullptr;
        e.multiplier = fixed ? nullptr : mult.data();
        e.zero_point = out_q.zero_point;
        e.dequant_scale = dq.data();
        return e;
    }
    // max over outputs of |dequantized − fp32| / output step
    static double error_in_steps(const std::vector<std::uint8_t>& y, const std::vector<float>& ref, q::qparams oq) {
        double worst = 0;
        for (std::size_t i = 0; i < y.size(); ++i)
            worst = std::max(worst, std::abs(double(act_q::dequantize_value(y[i], oq)) - ref[i]) / oq.scale);
        return worst;
    }
    void check_errors(const std::vector<std::uint8_t>& y) const {
        CHECK(error_in_steps(y, yf, out_q) <= 0.51);
        CHECK(error_in_steps(y, y_orig, out_q) <= 1.5);
    }
};

template <k::conv2d_geometry G>
void check_conv() {
    constexpr std::size_t in_count = std::size_t(G.c) * G.h * G.w, depth = std::size_t(G.cg()) * G.k * G.k;
    constexpr std::size_t out_count = std::size_t(G.out) * G.ho() * G.wo();
    layer_problem pr(in_count, G.out, depth, std::uint64_t(G.c * 1000 + G.out * 10 + G.k));
    pr.yf.resize(out_count);
    pr.y_orig.resize(out_count);
    k::reference::conv2d_forward(G, pr.xd.data(), pr.wd.data(), pr.bf.data(), pr.yf.data());
    k::reference::conv2d_forward(G, pr.xf.data(), pr.wf.data(), pr.bf.data(), pr.y_orig.data());
    std::vector<k::int8_matrix> packs;
    for (auto p : k::int8_compiled_paths()) packs.push_back(k::int8_pack_rows(p, pr.w.data(), G.out, depth));
    pr.finish(packs);
    const auto zp = std::uint8_t(pr.in_q.zero_point);
    for (bool fixed : {false, true}) {
        const auto e = pr.epilogue(fixed);
        std::vector<std::uint8_t> want(out_count), got(out_count);
        k::int8_conv2d_reference(G, pr.w.data(), pr.x.data(), zp, e, want.data());
        for (const auto& pk : packs) {
            INFO("path " << k::int8_path_name(pk.path) << " c=" << G.c << " h=" << G.h << " out=" << G.out
                         << " k=" << G.k << " stride=" << G.stride << " pad=" << G.pad << " fixed=" << fixed);
            std::fill(got.begin(), got.end(), 0);
            if constexpr (G.groups == G.c && G.cg() == 1 && G.c > 1) {
                k::int8_depthwise_forward<G>(pk.path, pr.w.data(), pr.x.data(), zp, e, got.data());
            } else {
                k::int8_conv2d_forward<G>(pk, pr.x.data(), zp, e, got.data());
            }
            CHECK(got == want);
            std::vector<float> fwant(out_count), fgot(out_count);
            k::int8_conv2d_reference(G, pr.w.data(), pr.x.data(), zp, e, fwant.data());
            if constexpr (G.groups == G.c && G.cg() == 1 && G.c > 1) {
                k::int8_depthwise_forward<G>(pk.path, pr.w.data(), pr.x.data(), zp, e, fgot.data());
            } else {
                k::int8_conv2d_forward<G>(pk, pr.x.data(), zp, e, fgot.data());
            }
            CHECK(fgot == fwant);
        }
        pr.check_errors(want);
    }
}

}  // namespace

TEST_CASE("int8 conv2d: every path equals the scalar twin; within one step of fp32") {
    check_conv<k::conv2d_geometry{1, 28, 28, 6, 5}>();            // LeNet conv1
    check_conv<k::conv2d_geometry{6, 12, 12, 16, 5}>();           // LeNet conv2
    check_conv<k::conv2d_geometry{8, 10, 10, 12, 3, 1, 1}>();     // 3×3 same padding
    check_conv<k::conv2d_geometry{16, 16, 16, 32, 3, 1, 1}>();    // small CNN block
    check_conv<k::conv2d_geometry{4, 9, 9, 5, 3, 2, 1}>();        // stride 2
    check_conv<k::conv2d_geometry{3, 11, 11, 4, 3, 1, 2, 2}>();   // dilation 2
    check_conv<k::conv2d_geometry{8, 7, 7, 8, 3, 1, 1, 1, 2}>();  // 2 groups
    check_conv<k::conv2d_geometry{16, 5, 5, 7, 1}>();             // 1×1
    check_conv<k::conv2d_geometry{3, 33, 17, 2, 2}>();            // odd widths, even kernel
    check_conv<k::conv2d_geometry{4, 4, 4, 6, 3, 1, 1}>();        // 4 output rows per 16-pixel chunk
}

TEST_CASE("int8 depthwise conv: every path equals the scalar twin; within one step of fp32") {
    check_conv<k::conv2d_geometry{8, 10, 10, 8, 3, 1, 1, 1, 8}>();
    check_conv<k::conv2d_geometry{6, 20, 20, 6, 5, 1, 2, 1, 6}>();   // row tails of 4 pixels
    check_conv<k::conv2d_geometry{4, 9, 9, 8, 3, 1, 1, 1, 4}>();     // multiplier 2
    check_conv<k::conv2d_geometry{5, 13, 13, 5, 3, 2, 1, 1, 5}>();   // stride 2
    check_conv<k::conv2d_geometry{16, 8, 8, 16, 3, 1, 1, 1, 16}>();  // 2 output rows per 16-pixel chunk
    check_conv<k::conv2d_geometry{8, 16, 16, 8, 7, 2, 3, 1, 8}>();   // 7×7 stride 2: two groups of 4 taps
}

TEST_CASE("int8 dense: every path equals the scalar twin; within one step of fp32") {
    struct shape_case {
        std::size_t n, in, out;
    };
    for (auto s : {shape_case{7, 256, 120}, shape_case{1, 5, 3}, shape_case{13, 84, 10}, shape_case{64, 150, 17},
                   shape_case{3, 120, 84}}) {
        layer_problem pr(s.n * s.in, s.out, s.in, s.n * 7 + s.in);
        auto fp32 = [&](const std::vector<float>& x, const std::vector<float>& w, std::vector<float>& y) {
            y.resize(s.n * s.out);
            for (std::size_t i = 0; i < s.n; ++i)
                for (std::size_t o = 0; o < s.out; ++o) {
                    double acc = pr.bf[o];
                    for (std::size_t j = 0; j < s.in; ++j) acc += double(x[i * s.in + j]) * w[o * s.in + j];
                    y[i * s.out + o] = float(acc);
                }
        };
        fp32(pr.xd, pr.wd, pr.yf);
        fp32(pr.xf, pr.wf, pr.y_orig);
        std::vector<k::int8_matrix> packs;
        for (auto p : k::int8_compiled_paths()) packs.push_back(k::int8_pack_columns(p, pr.w.data(), s.out, s.in));
        pr.finish(packs);
        for (bool fixed : {false, true}) {
            const auto e = pr.epilogue(fixed);
            std::vector<std::uint8_t> want(s.n * s.out), got(s.n * s.out);
            std::vector<float> fwant(s.n * s.out), fgot(s.n * s.out);
            k::int8_dense_reference(pr.w.data(), pr.x.data(), s.n, s.in, s.out, e, want.data());
            k::int8_dense_reference(pr.w.data(), pr.x.data(), s.n, s.in, s.out, e, fwant.data());
            for (const auto& pk : packs) {
                INFO("path " << k::int8_path_name(pk.path) << " n=" << s.n << " in=" << s.in << " out=" << s.out);
                k::int8_dense_forward(pk, pr.x.data(), s.n, e, got.data());
                k::int8_dense_forward(pk, pr.x.data(), s.n, e, fgot.data());
                CHECK(got == want);
                CHECK(fgot == fwant);
            }
            pr.check_errors(want);
        }
    }
}

TEST_CASE("int8 pooling and add: exact where the math is exact, within one step of fp32 otherwise") {
    constexpr k::pool2d_geometry pg{3, 9, 9, 3, 2, 1};
    std::vector<float> xf(3 * 81), xd(3 * 81);
    at::rng g{at::seed{5}};
    for (auto& v : xf) v = g.uniform(-1.0f, 2.0f);
    const auto qx = q::choose_qparams<q::uint8_range>(-1.0f, 2.0f);
    constexpr std::size_t pooled = std::size_t(pg.c) * pg.ho() * pg.wo();
    std::vector<std::uint8_t> x(xf.size()), y(pooled), y_want(pooled);
    act_q::quantize(xf.data(), x.data(), xf.size(), qx);
    act_q::dequantize(x.data(), xd.data(), x.size(), qx);
    std::vector<float> yf(pooled), arg(pooled);
    k::max_pool_forward<pg>(xd.data(), yf.data(), arg.data());
    k::int8_max_pool<pg>(x.data(), y.data());
    act_q::quantize(yf.data(), y_want.data(), yf.size(), qx);
    CHECK(y == y_want);  // max commutes with quantization: exact
    {                    // the vectorized 2×2 stride-2 case (LeNet's), with an overlapping last chunk (Wo = 12)
        constexpr k::pool2d_geometry p2{3, 24, 26, 2, 2, 0};
        std::vector<float> x2f(3 * 24 * 26), x2d(x2f.size()), y2f(3 * 12 * 13), a2(y2f.size());
        for (auto& v : x2f) v = g.uniform(-1.0f, 2.0f);
        std::vector<std::uint8_t> x2(x2f.size()), y2(y2f.size()), y2_want(y2f.size());
        act_q::quantize(x2f.data(), x2.data(), x2.size(), qx);
        act_q::dequantize(x2.data(), x2d.data(), x2.size(), qx);
        k::max_pool_forward<p2>(x2d.data(), y2f.data(), a2.data());
        k::int8_max_pool<p2>(x2.data(), y2.data());
        act_q::quantize(y2f.data(), y2_want.data(), y2f.size(), qx);
        CHECK(y2 == y2_want);
    }

    k::avg_pool_forward<pg, false>(xd.data(), yf.data());
    const auto qy = q::choose_qparams<q::uint8_range>(-0.5f, 1.5f);
    k::int8_avg_pool<pg, false>(x.data(), qx.zero_point, qx.scale / qy.scale, qy.zero_point, y.data());
    double worst = 0;
    for (std::size_t i = 0; i < y.size(); ++i)
        worst = std::max(worst, std::abs(double(act_q::dequantize_value(y[i], qy)) - yf[i]) / qy.scale);
    CHECK(worst <= 0.5 + 1e-4);  // the one rounding of the output (clamping aside: the range covers yf)

    const std::size_t n = 1000 + 7;  // vector body and scalar tail
    std::vector<std::uint8_t> a(n), b(n), want(n), got(n);
    for (std::size_t i = 0; i < n; ++i) {
        a[i] = std::uint8_t(g.below(256));
        b[i] = std::uint8_t(g.below(256));
    }
    const q::qparams qa{0.02f, 100}, qb{0.035f, 7}, qs{0.05f, 40};
    const k::int8_add_params ap{qa.zero_point,
                                qa.scale / qs.scale,
                                qb.zero_point,
                                qb.scale / qs.scale,
                                qs.zero_point,
                                qs.zero_point,
                                255};  // fused ReLU
    k::int8_add(k::int8_path::scalar, a.data(), b.data(), n, ap, want.data());
    for (auto p : k::int8_compiled_paths()) {
        k::int8_add(p, a.data(), b.data(), n, ap, got.data());
        CHECK(got == want);
    }
    worst = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double real =
            std::max(0.0, double(act_q::dequantize_value(a[i], qa)) + act_q::dequantize_value(b[i], qb));
        const double clipped = std::min(real, double(act_q::dequantize_value(255, qs)));
        worst = std::max(worst, std::abs(act_q::dequantize_value(want[i], qs) - clipped) / qs.scale);
    }
    CHECK(worst <= 0.5 + 1e-4);
}
