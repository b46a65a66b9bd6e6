// Dense layer kernels (kernels/dense.hpp, i.e. the packed GEMM of kernels/gemm.hpp) against oneDNN's
// matmul on the same shapes, single thread. "fwd": y = x wᵀ + b. "fwd_bwd": forward, dx = dy w and
// dw += dyᵀ x (ours also sums db; oneDNN's three matmuls do not). Counters: GFLOP/s, % of the 220
// GFLOP/s fp32 FMA peak of one Zen 5 core, and on our rows ours/oneDNN (throughput ratio, >1 = faster),
// with oneDNN timed right after ours on the same buffers. The instruction set and kernel path are
// printed first. oneDNN runs on OpenMP: the program re-executes itself with OMP_NUM_THREADS=1 unless
// that variable is already set.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "archetype/core/rng.hpp"
#include "archetype/kernels/dense.hpp"

namespace {

namespace k = archetype::kernels;
constexpr double peak_gflops = 220.0;

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
constexpr auto f32 = dnnl::memory::data_type::f32;

dnnl::engine& engine() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
}

// One shape's buffers and oneDNN primitives; w is [out][in] as in the library.
struct dense_problem {
    long n, in, out;
    std::vector<float> x, w, b, y, dy, dx, dw, db;
    dnnl::stream stream{engine()};
    dnnl::matmul fwd, bwd_data, bwd_weights;
    dnnl::memory mx, mw, mb, my, mdy, mdx, mdw, mdy_t;
    std::string impl;

    dense_problem(long n_, long in_, long out_) : n(n_), in(in_), out(out_) {
        archetype::rng g{archetype::seed{7}};
        auto fill = [&](std::vector<float>& v, long size) {
            v.resize(std::size_t(size));
            for (auto& e : v) e = g.uniform(-1.0f, 1.0f);
        };
        fill(x, n * in), fill(w, out * in), fill(b, out), fill(y, n * out), fill(dy, n * out);
        fill(dx, n * in), fill(dw, out * in), fill(db, out);
        auto& e = engine();
        // y[n][out] = x[n][in] · wᵀ: weights {in, out} in layout "ba" are w [out][in] row-major
        const dnnl::memory::desc x_md({n, in}, f32, tag::ab), wt_md({in, out}, f32, tag::ba),
            w_md({out, in}, f32, tag::ab), b_md({1, out}, f32, tag::ab), y_md({n, out}, f32, tag::ab),
            dyt_md({out, n}, f32, tag::ba), dw_md({out, in}, f32, tag::ab);
        mx = dnnl::memory(x_md, e, x.data()), mw = dnnl::memory(wt_md, e, w.data());
        mb = dnnl::memory(b_md, e, b.data()), my = dnnl::memory(y_md, e, y.data());
        mdy = dnnl::memory(y_md, e, dy.data()), mdx = dnnl::memory(x_md, e, dx.data());
        mdy_t = dnnl::memory(dyt_md, e, dy.data()), mdw = dnnl::memory(dw_md, e, dw.data());
        const dnnl::matmul::primitive_desc fwd_pd({x_md, wt_md, b_md, y_md}, e);
        fwd = dnnl::matmul(fwd_pd);
        impl = fwd_pd.impl_info_str();
        bwd_data = dnnl::matmul(dnnl::matmul::primitive_desc({y_md, w_md, x_md}, e));  // dx = dy · w
        dnnl::post_ops accumulate;
        accumulate.append_sum(1.0f);
        dnnl::primitive_attr attr;
        attr.set_post_ops(accumulate);
        // dw[out][in] += dyᵀ[out][n] · x[n][in]
        bwd_weights = dnnl::matmul(dnnl::matmul::primitive_desc({dyt_md, x_md, dw_md}, attr, e));
    }

    void ours_forward() { k::dense_forward(x.data(), w.data(), b.data(), y.data(), n, in, out); }
    void ours_forward_backward() {
        ours_forward();
        k::dense_backward_data(dy.data(), w.data(), dx.data(), n, in, out);
        k::dense_backward_params(x.data(), dy.data(), dw.data(), db.data(), n, in, out);
    }
    void dnnl_forward() {
        fwd.execute(stream, {{DNNL_ARG_SRC, mx}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, my}});
        stream.wait();
    }
    void dnnl_forward_backward() {
        fwd.execute(stream, {{DNNL_ARG_SRC, mx}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, my}});
        bwd_data.execute(stream, {{DNNL_ARG_SRC, mdy}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, mdx}});
        bwd_weights.execute(stream, {{DNNL_ARG_SRC, mdy_t}, {DNNL_ARG_WEIGHTS, mx}, {DNNL_ARG_DST, mdw}});
        stream.wait();
    }
};

template <class F>
double seconds_per_call(F&& f) {  // at least 20 ms of calls, after one warm-up call
    f();
    using clock = std::chrono::steady_clock;
    long calls = 0;
    const auto t0 = clock::now();
    double elapsed = 0;
    do {
        f();
        ++calls;
        elapsed = std::chrono::duration<double>(clock::now() - t0).count();
    } while (elapsed < 0.02);
    return elapsed / double(calls);
}

void set_counters(benchmark::State& state, double flops) {
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["%peak"] =
        benchmark::Counter(flops * 1e-9 / peak_gflops * 100.0, benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(std::to_string(state.range(0)) + "x" + std::to_string(state.range(1)) + "->" +
                   std::to_string(state.range(2)));
}

template <bool Backward, bool Ours>
void bm_dense(benchmark::State& state) {
    dense_problem p(state.range(0), state.range(1), state.range(2));
    const double flops = (Backward ? 6.0 : 2.0) * double(p.n * p.in * p.out);
    auto run = [&] {
        if constexpr (Ours)
            Backward ? p.ours_forward_backward() : p.ours_forward();
        else
            Backward ? p.dnnl_forward_backward() : p.dnnl_forward();
    };
    run();
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) {
        run();
        benchmark::ClobberMemory();
    }
    const double ours = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                        double(state.iterations());
    set_counters(state, flops);
    if constexpr (Ours) {
        const double theirs = seconds_per_call([&] { Backward ? p.dnnl_forward_backward() : p.dnnl_forward(); });
        state.counters["ours/oneDNN"] = theirs / ours;
    }
}

void shapes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"n", "in", "out"});
    for (long n : {1, 8, 64})
        for (auto [in, out] : {std::pair{16L, 16L}, {64L, 64L}, {256L, 256L}, {784L, 128L}, {1280L, 1280L}})
            b->Args({n, in, out});
}

BENCHMARK(bm_dense<false, true>)->Name("dense_fwd/ours")->Apply(shapes);
BENCHMARK(bm_dense<false, false>)->Name("dense_fwd/onednn")->Apply(shapes);
BENCHMARK(bm_dense<true, true>)->Name("dense_fwd_bwd/ours")->Apply(shapes);
BENCHMARK(bm_dense<true, false>)->Name("dense_fwd_bwd/onednn")->Apply(shapes);

}  // namespace

int main(int argc, char** argv) {
    bench::run_openmp_on_one_thread(argv, "bench_gemm_dense");
    const auto* v = dnnl::version();
    dense_problem probe(64, 256, 256);
    std::printf("archetype kernels: instruction set %s, gemm path: %s\n", k::simd_name(), k::gemm_path().c_str());
    std::printf("oneDNN %d.%d.%d, matmul implementation: %s, OMP_NUM_THREADS=%s\n", v->major, v->minor, v->patch,
                probe.impl.c_str(), std::getenv("OMP_NUM_THREADS"));
    benchmark::AddCustomContext("archetype_isa", k::simd_name());
    benchmark::AddCustomContext("archetype_gemm_path", k::gemm_path());
    benchmark::AddCustomContext("onednn_matmul_impl", probe.impl);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
