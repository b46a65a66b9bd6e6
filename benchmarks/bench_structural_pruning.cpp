// Structural pruning pays: the hand CNN of examples/fashion_search.cpp (conv-BN-ReLU 16 → pool → 32 →
// pool → 64 on 1×28×28, flatten, dense 10) against its 50% structurally pruned type
// (structurally_pruned_t<small_cnn, keep_ratio<1/2>>: widths 8, 16, 32), fp32 inference, single thread, batch 1
// and batch 64. Each iteration runs the big and then the pruned network on the same batch, each timed in
// thread CPU time, so both see the same machine load; counters: big_us and pruned_us per call (means),
// speedup = big / pruned (target ≥ 1.6), and the two networks' MACs per sample. Weights come from
// prune_channels on a seeded big network (speed does not depend on their values).
#include <benchmark/benchmark.h>
#include <time.h>

#include <cstdio>
#include <vector>

#include "bench_timing.hpp"
#include "archetype/blocks/classic_nets.hpp"
#include "archetype/compress/structural_pruning_weights.hpp"
#include "archetype/kernels/simd.hpp"

namespace {

namespace at = archetype;

using big_t = at::network<at::shape{1, 28, 28}, at::small_cnn>;
using pruned_t = at::structurally_pruned_t<big_t, at::keep_ratio<std::ratio<1, 2>>>;
static_assert(at::prunable_widths_v<big_t> == std::array<int, 3>{16, 32, 64});
static_assert(at::prunable_widths_v<pruned_t> == std::array<int, 3>{8, 16, 32});

using bench::thread_seconds;

void bm_big_vs_pruned(benchmark::State& state) {
    const std::size_t batch = std::size_t(state.range(0));
    big_t big{at::seed{1}};
    auto small = at::prune_channels<pruned_t>(big);
    at::rng g{at::seed{2}};
    std::vector<float> x(batch * big_t::input_shape.size());
    for (float& v : x) v = g.uniform(0.0f, 1.0f);
    benchmark::DoNotOptimize(big.forward_raw(x.data(), batch, false));  // warm up, size the workspaces
    benchmark::DoNotOptimize(small.forward_raw(x.data(), batch, false));
    double t_big = 0, t_small = 0;
    for (auto _ : state) {
        const double t0 = thread_seconds();
        benchmark::DoNotOptimize(big.forward_raw(x.data(), batch, false));
        const double t1 = thread_seconds();
        benchmark::DoNotOptimize(small.forward_raw(x.data(), batch, false));
        t_small += thread_seconds() - t1;
        t_big += t1 - t0;
        benchmark::ClobberMemory();
    }
    const double n = double(state.iterations());
    state.counters["big_us"] = 1e6 * t_big / n;
    state.counters["pruned_us"] = 1e6 * t_small / n;
    state.counters["speedup"] = t_big / t_small;
    state.counters["big_MMAC"] = 1e-6 * double(at::macs_v<big_t>);
    state.counters["pruned_MMAC"] = 1e-6 * double(at::macs_v<pruned_t>);
}
BENCHMARK(bm_big_vs_pruned)->Name("hand_cnn/big_vs_pruned50")->ArgName("batch")->Arg(1)->Arg(64);

}  // namespace

int main(int argc, char** argv) {
    std::printf("fp32 kernels: %s; big %zu params %zu MACs, pruned %zu params %zu MACs per sample\n",
                at::kernels::simd_name(), at::params_v<big_t>, at::macs_v<big_t>, at::params_v<pruned_t>,
                at::macs_v<pruned_t>);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
