// Integer-only inference against our fp32, single thread: per kernel (the convolutions of LeNet-5 and of
// small CNNs, a depthwise convolution, dense layers) and for whole networks (LeNet-5, a conv-BN-ReLU
// CNN on 3×32×32 and the main job's winner, batch 64, input quantization and logit dequantization
// included). Every int8 row carries
// "int8/fp32": the fp32 peer's time over the int8 time (> 1 = int8 faster), the fp32 peer timed right after
// on the same data (both in thread CPU time; compare the CPU column, not Time, on a shared machine); dense rows compare
// with our fp32 dense layer (one sample per call, as layers/dense.hpp runs it) and with one batched fp32 product
// ("int8/fp32_batched"). The int8 path taken is printed first.
#include <benchmark/benchmark.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "archetype/blocks/classic_nets.hpp"
#include "archetype/blocks/conv_bn.hpp"
#include "archetype/blocks/separable.hpp"
#include "archetype/compress/int8_network.hpp"
#include "archetype/core/rng.hpp"
#include "archetype/kernels/conv2d.hpp"
#include "archetype/kernels/dense.hpp"
#include "archetype/kernels/int8_conv2d.hpp"
#include "archetype/kernels/int8_dense.hpp"

namespace {

namespace at = archetype;
namespace k = archetype::kernels;
namespace q = archetype::quant;
constexpr std::size_t batch = 64;

using bench::thread_seconds;

// Times `state`'s loop over run(); for int8 rows, also the peers and the ratios.
template <class Run, class... Peers>
void timed(benchmark::State& state, double macs, Run run, std::pair<const char*, Peers>... peers) {
    run();
    const double t0 = thread_seconds();
    for (auto _ : state) {
        run();
        benchmark::ClobberMemory();
    }
    [[maybe_unused]] const double mine = (thread_seconds() - t0) / double(state.iterations());
    state.counters["GMAC/s"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    ((state.counters[peers.first] = bench::seconds_per_call(peers.second, 0.03) / mine), ...);
}

std::vector<float> uniform(std::size_t n, float lo, float hi, std::uint64_t seed) {
    at::rng g{at::seed{seed}};
    std::vector<float> v(n);
    for (auto& e : v) e = g.uniform(lo, hi);
    return v;
}

template <k::conv2d_geometry G>
struct conv_case {
    static constexpr std::size_t in = std::size_t(G.c) * G.h * G.w, out = std::size_t(G.out) * G.ho() * G.wo();
    static constexpr std::size_t depth = std::size_t(G.cg()) * G.k * G.k;
    static constexpr bool depthwise = G.groups == G.c && G.cg() == 1;
    std::vector<float> xf = uniform(batch * in, 0.0f, 1.0f, 1), wf = uniform(G.out * depth, -0.3f, 0.3f, 2),
                       bf = uniform(G.out, -0.1f, 0.1f, 3), yf = std::vector<float>(batch * out);
    std::vector<std::uint8_t> x = std::vector<std::uint8_t>(batch * in), y = std::vector<std::uint8_t>(batch * out);
    q::int8_conv_stage<G, q::float_requantization> stage{
        k::int8_best_path(), wf.data(), bf.data(), {1.0f / 255, 0}, {0.05f, 0}, q::fused_activation::relu, false};
    conv_case() {
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::uint8_t(xf[i] * 255.0f);
    }
    void fp32() {
        for (std::size_t n = 0; n < batch; ++n)
            k::conv2d_forward<G>(xf.data() + n * in, wf.data(), bf.data(), yf.data() + n * out);
    }
    void int8() { stage.run(x.data(), y.data(), batch); }
};

template <k::conv2d_geometry G>
void bm_conv(benchmark::State& state) {
    conv_case<G> c;
    const double macs = double(batch) * double(c.out) * double(c.depth);
    if (state.range(0) == 0) {
        timed(state, macs, [&] { c.fp32(); });
    } else {
        timed(
            state, macs, [&] { c.int8(); }, std::pair{"int8/fp32", [&] { c.fp32(); }});
    }
}

void bm_dense(benchmark::State& state) {
    const std::size_t in = std::size_t(state.range(1)), out = std::size_t(state.range(2));
    const auto xf = uniform(batch * in, 0.0f, 1.0f, 4), wf = uniform(in * out, -0.1f, 0.1f, 5),
               bf = uniform(out, -0.1f, 0.1f, 6);
    std::vector<float> yf(batch * out);
    std::vector<std::uint8_t> x(batch * in), y(batch * out);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::uint8_t(xf[i] * 255.0f);
    q::int8_dense_stage<q::float_requantization> stage(k::int8_best_path(), wf.data(), bf.data(), in, out,
                                                       {1.0f / 255, 0}, {0.05f, 0}, q::fused_activation::relu, false);
    auto per_sample = [&] {
        for (std::size_t n = 0; n < batch; ++n)
            k::dense_forward(xf.data() + n * in, wf.data(), bf.data(), yf.data() + n * out, 1, in, out);
    };
    auto batched = [&] { k::dense_forward(xf.data(), wf.data(), bf.data(), yf.data(), batch, in, out); };
    const double macs = double(batch * in * out);
    if (state.range(0) == 0) {
        timed(state, macs, per_sample);
    } else {
        timed(
            state, macs, [&] { stage.run(x.data(), y.data(), batch); }, std::pair{"int8/fp32", per_sample},
            std::pair{"int8/fp32_batched", batched});
    }
}

using lenet_t = at::network<at::shape{1, 28, 28}, at::lenet5>;
using cnn =
    at::sequential<at::conv2d<16, 3, 1, 1>, at::batch_norm, at::relu, at::max_pool<2>,  //
                   at::conv2d<32, 3, 1, 1>, at::batch_norm, at::relu, at::max_pool<2>,  //
                   at::conv2d<64, 3, 1, 1>, at::batch_norm, at::relu, at::global_avg_pool, at::flatten, at::dense<10>>;
using cnn_t = at::network<at::shape{3, 32, 32}, cnn>;
// The main job's default-run winner (RESULTS.md, "The main job"): fashion_mnist_space genotype
// width=w12,down1=conv3,s1b1=skip,s1b2=skip,down2=conv3,s2b1=conv3,s2b2=sep3,head=flat as a fixed type.
using fashion_winner = at::sequential<at::conv_bn_relu<12, 3>, at::conv_bn_relu<24, 3, 2>, at::conv_bn_relu<48, 3, 2>,
                                      at::conv_bn_relu<48, 3>, at::depthwise_separable<48, 3>, at::flatten,
                                      at::dense<10>>;
using fashion_winner_t = at::network<at::shape{1, 28, 28}, fashion_winner>;

template <class Net>
void bm_network(benchmark::State& state) {
    Net net{at::seed{1}};
    const auto x = uniform(batch * Net::input_shape.size(), 0.0f, 1.0f, 7);
    q::int8_network<Net> qnet(net, x.data(), batch);
    const double macs = double(batch) * double(at::macs_v<Net>);
    auto fp32 = [&] { benchmark::DoNotOptimize(net.forward_raw(x.data(), batch, false)); };
    if (state.range(0) == 0) {
        timed(state, macs, fp32);
    } else {
        state.SetLabel(qnet.path_name());
        timed(
            state, macs, [&] { benchmark::DoNotOptimize(qnet.forward(x.data(), batch)); },
            std::pair{"int8/fp32", fp32});
    }
}

void kinds(benchmark::internal::Benchmark* b) { b->ArgName("int8")->Arg(0)->Arg(1); }
void dense_shapes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"int8", "in", "out"});
    for (auto [in, out] : {std::pair{256L, 120L}, {120L, 84L}, {512L, 512L}})
        for (long kind : {0L, 1L}) b->Args({kind, in, out});
}

BENCHMARK(bm_conv<k::conv2d_geometry{1, 28, 28, 6, 5}>)->Name("conv/lenet1_1x28x28_6k5")->Apply(kinds);
BENCHMARK(bm_conv<k::conv2d_geometry{6, 12, 12, 16, 5}>)->Name("conv/lenet2_6x12x12_16k5")->Apply(kinds);
BENCHMARK(bm_conv<k::conv2d_geometry{3, 32, 32, 16, 3, 1, 1}>)->Name("conv/cnn_3x32x32_16k3")->Apply(kinds);
BENCHMARK(bm_conv<k::conv2d_geometry{16, 16, 16, 32, 3, 1, 1}>)->Name("conv/cnn_16x16x16_32k3")->Apply(kinds);
BENCHMARK(bm_conv<k::conv2d_geometry{32, 8, 8, 64, 3, 1, 1}>)->Name("conv/cnn_32x8x8_64k3")->Apply(kinds);
BENCHMARK(bm_conv<k::conv2d_geometry{32, 16, 16, 32, 3, 1, 1, 1, 32}>)->Name("conv/dw_32x16x16_k3")->Apply(kinds);
BENCHMARK(bm_dense)->Name("dense")->Apply(dense_shapes);
BENCHMARK(bm_network<lenet_t>)->Name("network/lenet5_b64")->Apply(kinds);
BENCHMARK(bm_network<cnn_t>)->Name("network/cnn_3x32x32_b64")->Apply(kinds);
BENCHMARK(bm_network<fashion_winner_t>)->Name("network/fashion_winner_b64")->Apply(kinds);

}  // namespace

int main(int argc, char** argv) {
    std::printf("int8 path: %s (fp32 kernels: %s)\n", k::int8_path_name(k::int8_best_path()), k::simd_name());
    benchmark::AddCustomContext("archetype_int8_path", k::int8_path_name(k::int8_best_path()));
    benchmark::AddCustomContext("archetype_fp32_isa", k::simd_name());
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
