// conv2d kernels (kernels/conv2d.hpp, geometry fixed at compile time) against oneDNN's convolution on the
// same shapes, single thread. "fwd": y = conv(x, w) + b over the batch. "fwd_bwd": forward, then the input
// gradient and the weight and bias gradients (ours accumulates dw, db; oneDNN overwrites them).
// oneDNN picks its own activation and weight layouts (format_tag::any, blocked nChw16c and friends):
// that is its best case, reorders excluded, as in a network that stays in its layout. Counters: GFLOP/s
// (2·MACs per forward, 3× that for fwd_bwd; bias ignored), % of the 220 GFLOP/s fp32 FMA peak of one
// Zen 5 core, and on our rows ours/oneDNN (throughput ratio, > 1 = faster) with oneDNN timed right after
// ours in the same process; both in thread CPU time, since the machine is shared. The label names our kernel path for the shape. After the run the geometric
// means of ours/oneDNN are printed: over all shapes, and over the shapes where oneDNN reaches less than
// half the peak. oneDNN runs on OpenMP: the program re-executes itself with OMP_NUM_THREADS=1 unless set.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench_timing.hpp"
#include "archetype/core/rng.hpp"
#include "archetype/kernels/conv2d.hpp"

namespace {

namespace k = archetype::kernels;
constexpr double peak_gflops = 220.0;

struct conv_case {
    int n;
    k::conv2d_geometry g;
};

// {batch, {c, h, w, out, k, stride, pad, dil, groups}}
constexpr conv_case cases[] = {
    {64, {1, 28, 28, 6, 5, 1, 0, 1, 1}},         // LeNet-5 conv1
    {64, {6, 12, 12, 16, 5, 1, 0, 1, 1}},        // LeNet-5 conv2
    {1, {1, 28, 28, 6, 5, 1, 0, 1, 1}},          // LeNet-5 conv1, batch 1
    {64, {1, 28, 28, 16, 3, 1, 1, 1, 1}},        // one-channel 3×3 stem
    {8, {3, 56, 56, 32, 3, 2, 1, 1, 1}},         // RGB stem, stride 2
    {64, {16, 28, 28, 16, 3, 1, 1, 1, 1}},       // small CNN 3×3
    {64, {32, 14, 14, 32, 3, 1, 1, 1, 1}},       //
    {64, {64, 7, 7, 64, 3, 1, 1, 1, 1}},         //
    {8, {16, 28, 28, 32, 3, 2, 1, 1, 1}},        // 3×3 stride 2
    {1, {64, 56, 56, 64, 3, 1, 1, 1, 1}},        // batch 1, large spatial
    {32, {128, 28, 28, 128, 3, 1, 1, 1, 1}},     // the 3×3 C=K=128 reference
    {8, {256, 7, 7, 256, 3, 1, 1, 1, 1}},        //
    {8, {16, 56, 56, 16, 7, 1, 3, 1, 1}},        // 7×7
    {64, {16, 14, 14, 64, 1, 1, 0, 1, 1}},       // 1×1 expansion
    {64, {32, 14, 14, 64, 1, 1, 0, 1, 1}},       // 1×1
    {8, {256, 14, 14, 256, 1, 1, 0, 1, 1}},      // 1×1 wide
    {8, {64, 28, 28, 128, 1, 2, 0, 1, 1}},       // 1×1 stride 2 (projection shortcut)
    {64, {32, 28, 28, 32, 3, 1, 1, 1, 32}},      // depthwise 3×3
    {64, {32, 14, 14, 32, 5, 1, 2, 1, 32}},      // depthwise 5×5
    {8, {64, 28, 28, 64, 3, 2, 1, 1, 64}},       // depthwise 3×3 stride 2
    {8, {128, 14, 14, 128, 7, 1, 3, 1, 128}},    // depthwise 7×7
    {1, {256, 7, 7, 256, 3, 1, 1, 1, 256}},      // depthwise, batch 1
    {1, {32, 28, 28, 32, 3, 1, 1, 1, 32}},       // depthwise, batch 1
    {8, {64, 28, 28, 64, 3, 1, 1, 1, 4}},        // grouped 3×3 (ResNeXt)
    {64, {64, 14, 14, 64, 1, 1, 0, 1, 4}},       // grouped 1×1 (ShuffleNet)
};
constexpr int case_count = int(std::size(cases));

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
constexpr auto f32 = dnnl::memory::data_type::f32;

dnnl::engine& engine() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
}

std::vector<float> random_vector(std::size_t size, archetype::rng& g) {
    std::vector<float> v(size);
    for (auto& e : v) e = g.uniform(-1.0f, 1.0f);
    return v;
}

// A oneDNN memory in the layout a primitive chose, filled with small values (no denormals, no NaN).
dnnl::memory make_memory(const dnnl::memory::desc& d) {
    dnnl::memory m(d, engine());
    float* p = static_cast<float*>(m.get_data_handle());
    for (std::size_t i = 0; i < d.get_size() / sizeof(float); ++i) p[i] = float(int(i % 7) - 3) * 0.125f;
    return m;
}

// oneDNN's forward, backward-data and backward-weights primitives for one case, with their memories.
struct onednn_conv {
    dnnl::stream stream{engine()};
    dnnl::convolution_forward fwd;
    dnnl::convolution_backward_data bwd_data;
    dnnl::convolution_backward_weights bwd_weights;
    std::unordered_map<int, dnnl::memory> fwd_args, data_args, weight_args;
    std::string impl, bwd_data_impl, bwd_weights_impl;

    explicit onednn_conv(const conv_case& c) {
        const auto& g = c.g;
        const long gr = g.groups;
        const dnnl::memory::desc src({c.n, g.c, g.h, g.w}, f32, tag::any),
            wei(gr == 1 ? dims{g.out, g.c, g.k, g.k} : dims{gr, g.out / gr, g.c / gr, g.k, g.k}, f32, tag::any),
            bias({g.out}, f32, tag::x), dst({c.n, g.out, g.ho(), g.wo()}, f32, tag::any);
        const long pr_h = long(g.ho() - 1) * g.stride + g.extent() - g.h - g.pad;
        const long pr_w = long(g.wo() - 1) * g.stride + g.extent() - g.w - g.pad;
        const dims strides{g.stride, g.stride}, dil{g.dil - 1, g.dil - 1}, pl{g.pad, g.pad}, pr{pr_h, pr_w};
        const auto algo = dnnl::algorithm::convolution_direct;
        const dnnl::convolution_forward::primitive_desc fpd(
            {dnnl::prop_kind::forward_training, algo, src, wei, bias, dst, strides, dil, pl, pr}, engine());
        const dnnl::convolution_backward_data::primitive_desc dpd({algo, src, wei, dst, strides, dil, pl, pr},
                                                                   engine(), fpd);
        const dnnl::convolution_backward_weights::primitive_desc wpd(
            {algo, src, wei, bias, dst, strides, dil, pl, pr}, engine(), fpd);
        fwd = dnnl::convolution_forward(fpd);
        bwd_data = dnnl::convolution_backward_data(dpd);
        bwd_weights = dnnl::convolution_backward_weights(wpd);
        impl = fpd.impl_info_str(), bwd_data_impl = dpd.impl_info_str(), bwd_weights_impl = wpd.impl_info_str();
        fwd_args = {{DNNL_ARG_SRC, make_memory(fpd.src_desc())},
                    {DNNL_ARG_WEIGHTS, make_memory(fpd.weights_desc())},
                    {DNNL_ARG_BIAS, make_memory(fpd.bias_desc())},
                    {DNNL_ARG_DST, make_memory(fpd.dst_desc())}};
        data_args = {{DNNL_ARG_DIFF_DST, make_memory(dpd.diff_dst_desc())},
                     {DNNL_ARG_WEIGHTS, make_memory(dpd.weights_desc())},
                     {DNNL_ARG_DIFF_SRC, make_memory(dpd.diff_src_desc())}};
        weight_args = {{DNNL_ARG_SRC, make_memory(wpd.src_desc())},
                       {DNNL_ARG_DIFF_DST, make_memory(wpd.diff_dst_desc())},
                       {DNNL_ARG_DIFF_WEIGHTS, make_memory(wpd.diff_weights_desc())},
                       {DNNL_ARG_DIFF_BIAS, make_memory(wpd.diff_bias_desc())}};
    }
    void forward() {
        fwd.execute(stream, fwd_args);
        stream.wait();
    }
    void forward_backward() {
        fwd.execute(stream, fwd_args);
        bwd_data.execute(stream, data_args);
        bwd_weights.execute(stream, weight_args);
        stream.wait();
    }
};

// Our kernels on one case: NCHW buffers, one sample at a time as the layer calls them.
template <int I>
struct ours_conv {
    static constexpr conv_case c = cases[I];
    static constexpr k::conv2d_geometry G = c.g;
    static constexpr std::size_t in_size = std::size_t(G.c) * G.h * G.w, out_size = std::size_t(G.out) * G.ho() * G.wo();
    std::vector<float> x, w, b, y, dy, dx, dw, db;

    ours_conv() {
        archetype::rng r{archetype::seed{7}};
        x = random_vector(c.n * in_size, r), w = random_vector(G.weight_count(), r), b = random_vector(G.out, r);
        y = random_vector(c.n * out_size, r), dy = random_vector(c.n * out_size, r);
        dx = random_vector(c.n * in_size, r), dw = random_vector(G.weight_count(), r), db = random_vector(G.out, r);
    }
    void forward() {
        for (int s = 0; s < c.n; ++s) k::conv2d_forward<G>(x.data() + s * in_size, w.data(), b.data(), y.data() + s * out_size);
    }
    void forward_backward() {
        forward();
        for (int s = 0; s < c.n; ++s)
            k::conv2d_backward_data<G>(dy.data() + s * out_size, w.data(), dx.data() + s * in_size);
        k::conv2d_backward_weights<G>(x.data(), dy.data(), std::size_t(c.n), dw.data(), db.data());
    }
};

// mode -> case -> (ours/oneDNN, oneDNN GFLOP/s); the last run of a benchmark overwrites earlier ones.
std::map<std::string, std::map<int, std::pair<double, double>>> ratios;

using bench::thread_seconds;

std::string describe(const conv_case& c) {
    const auto& g = c.g;
    char s[160];
    std::snprintf(s, sizeof s, "n%d c%d %dx%d o%d k%d s%d p%d g%d", c.n, g.c, g.h, g.w, g.out, g.k, g.stride, g.pad,
                  g.groups);
    return s;
}

template <int I, bool Backward, bool Ours>
void bm_conv(benchmark::State& state) {
    constexpr conv_case c = cases[I];
    const double flops = (Backward ? 6.0 : 2.0) * double(c.n) * double(c.g.weight_count()) * c.g.ho() * c.g.wo();
    ours_conv<I> ours;
    onednn_conv theirs(c);
    auto run = [&] {
        if constexpr (Ours)
            Backward ? ours.forward_backward() : ours.forward();
        else
            Backward ? theirs.forward_backward() : theirs.forward();
    };
    run();
    const double t0 = thread_seconds();
    for (auto _ : state) {
        run();
        benchmark::ClobberMemory();
    }
    const double mine = (thread_seconds() - t0) / double(state.iterations());
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["%peak"] =
        benchmark::Counter(flops * 1e-9 / peak_gflops * 100.0, benchmark::Counter::kIsIterationInvariantRate);
    if constexpr (Ours) {
        const double other = bench::seconds_per_call([&] { Backward ? theirs.forward_backward() : theirs.forward(); }, 0.05);
        state.counters["ours/oneDNN"] = other / mine;
        ratios[Backward ? "fwd_bwd" : "fwd"][I] = {other / mine, flops * 1e-9 / other};
        state.SetLabel(describe(c) + " | " + k::conv2d_path<c.g>());
    } else {
        state.SetLabel(describe(c) + " | " + theirs.impl + (Backward ? "/" + theirs.bwd_data_impl + "/" +
                                                                           theirs.bwd_weights_impl
                                                                     : ""));
    }
}

template <int I>
void register_case() {
    const std::string name = "/" + std::to_string(I);
    benchmark::RegisterBenchmark(("conv_fwd/ours" + name).c_str(), bm_conv<I, false, true>);
    benchmark::RegisterBenchmark(("conv_fwd/onednn" + name).c_str(), bm_conv<I, false, false>);
    benchmark::RegisterBenchmark(("conv_fwd_bwd/ours" + name).c_str(), bm_conv<I, true, true>);
    benchmark::RegisterBenchmark(("conv_fwd_bwd/onednn" + name).c_str(), bm_conv<I, true, false>);
}

template <int... I>
void register_all(std::integer_sequence<int, I...>) {
    (register_case<I>(), ...);
}

void print_geomeans() {
    for (const auto& [mode, list] : ratios) {
        double all = 0, weak = 0;
        int n_weak = 0;
        for (const auto& [index, entry] : list) {
            const auto [r, theirs] = entry;
            all += std::log(r);
            if (theirs < peak_gflops / 2) weak += std::log(r), ++n_weak;
        }
        std::printf("geomean ours/oneDNN %-8s over %2zu shapes: %.3f", mode.c_str(), list.size(),
                    std::exp(all / double(list.size())));
        if (n_weak > 0) std::printf("   over the %d where oneDNN < 50%% of peak: %.3f", n_weak, std::exp(weak / n_weak));
        std::printf("\n");
    }
}

}  // namespace

int main(int argc, char** argv) {
    bench::run_openmp_on_one_thread(argv, "bench_conv");
    const auto* v = dnnl::version();
    std::printf("archetype kernels: instruction set %s (%d floats per vector)\n", k::simd_name(), k::conv_lanes());
    std::printf("oneDNN %d.%d.%d, OMP_NUM_THREADS=%s, layouts: oneDNN's choice (format_tag::any)\n", v->major,
                v->minor, v->patch, std::getenv("OMP_NUM_THREADS"));
    benchmark::AddCustomContext("archetype_isa", k::simd_name());
    register_all(std::make_integer_sequence<int, case_count>{});
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    print_geomeans();
    return 0;
}
