// End-to-end: LeNet-5 on Fashion-MNIST (the network of examples/lenet_fashion_mnist.cpp). Times one
// training epoch (60 000 samples, batch 64, SGD lr 0.01 momentum 0.9, no evaluation) on one and on two
// threads, and the batch-1 inference latency (one sample through forward_raw, training off).
//   bench_lenet [--epochs N] [--samples N] [--latency-calls N]
// --epochs: epochs timed per thread count (the median is reported; default 3); --samples: train on the
// first N samples only (smoke runs). Without the data set (apt-get install dataset-fashion-mnist, or
// ARCHETYPE_FASHION_MNIST_DIR) it trains on random images of the same size and says so.
// Compare with scripts/bench_pytorch_lenet.py (PyTorch 1.13, same network and recipe). Epoch time is
// wall time; the program also prints its CPU time, since the machine may be shared.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "archetype/blocks/classic_nets.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/graph/sequential.hpp"
#include "archetype/kernels/conv2d.hpp"
#include "archetype/kernels/dense.hpp"
#include "archetype/kernels/gemm.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"
#include "archetype/layers/pool.hpp"
#include "archetype/train/train.hpp"

namespace at = archetype;

using net_t = at::network<at::shape{1, 28, 28}, at::lenet5>;

namespace {

double process_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

at::dataset training_data(std::size_t samples, bool& real) {
    at::dataset d;
    try {
        d = at::load_fashion_mnist(at::fashion_mnist_part::train);
        real = true;
    } catch (const at::error& e) {
        std::printf("note: %s\n      timing on random images instead\n", e.what());
        real = false;
        d.sample = at::shape{1, 28, 28};
        d.classes = 10;
        d.images.resize(60000 * 784);
        d.labels.resize(60000);
        at::rng g(at::seed{1});
        for (std::size_t i = 0; i < d.images.size(); ++i) d.images[i] = g.uniform(0.0f, 1.0f);
        for (std::size_t i = 0; i < d.labels.size(); ++i) d.labels[i] = int(i % 10);
    }
    if (samples < d.size()) d = at::subset(d, 0, samples);
    return d;
}

struct epoch_times {
    double wall, cpu, loss;
};

// Median wall and CPU seconds per epoch over `epochs` epochs on `threads` threads.
epoch_times time_epochs(const at::dataset& data, std::size_t threads, int epochs) {
    at::thread_pool pool(threads);
    net_t net{at::seed{1}, threads > 1 ? &pool : nullptr};
    at::sgd opt{.lr = 0.01f, .momentum = 0.9f};
    std::vector<double> wall, cpu;
    double loss = 0;
    for (int e = 0; e < epochs; ++e) {
        at::train_options o;
        o.epochs = 1;
        o.batch_size = 64;
        o.shuffle_seed = at::seed{std::uint64_t(e + 1)};
        const double c0 = process_cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        const auto report = at::train(net, data, opt, o);
        wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        cpu.push_back(process_cpu_seconds() - c0);
        loss = report.epochs.back().train_loss;
    }
    return {median(wall), median(cpu), loss};
}

// Median over rounds of the mean wall and CPU seconds per batch-1 forward.
std::pair<double, double> latency(const at::dataset& data, long calls) {
    net_t net{at::seed{1}};
    std::vector<double> wall, cpu;
    volatile float sink = 0;
    for (int r = 0; r < 7; ++r) {
        const double c0 = process_cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        for (long i = 0; i < calls; ++i) sink = sink + net.forward_raw(data.images.data() + (i % 100) * 784, 1, false)[0];
        wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(calls));
        cpu.push_back((process_cpu_seconds() - c0) / double(calls));
    }
    return {median(wall), median(cpu)};
}

}  // namespace

int main(int argc, char** argv) try {
    int epochs = 3;
    std::size_t samples = 60000;
    long calls = 20000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--epochs") epochs = std::max(1, std::stoi(v));
        else if (a == "--samples") samples = std::stoul(v);
        else if (a == "--latency-calls") calls = std::max(1L, std::stol(v));
        else {
            std::fprintf(stderr, "bench_lenet: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    bool real = false;
    const at::dataset data = training_data(samples, real);
    std::printf("LeNet-5 on %s: %zu samples, batch 64, SGD; kernels: %s, conv lanes %d, dense gemm %s, "
                "dense batch 1 %s\n",
                real ? "Fashion-MNIST" : "random images", data.size(), at::kernels::simd_name(),
                at::kernels::conv_lanes(), at::kernels::gemm_path().c_str(), at::kernels::dense_gemv_path());
    const epoch_times one = time_epochs(data, 1, epochs);
    std::printf("epoch, 1 thread : %.3f s wall (%.3f s CPU), last train loss %.4f\n", one.wall, one.cpu, one.loss);
    const epoch_times two = time_epochs(data, 2, epochs);
    std::printf("epoch, 2 threads: %.3f s wall (%.3f s CPU), last train loss %.4f\n", two.wall, two.cpu, two.loss);
    std::printf("speed-up 2 threads / 1 thread: %.2fx\n", one.wall / two.wall);
    const auto [lat_wall, lat_cpu] = latency(data, calls);
    std::printf("batch-1 inference latency: %.2f us wall (%.2f us CPU)\n", lat_wall * 1e6, lat_cpu * 1e6);
    std::printf("targets: epoch <= 1.0 s (1 thread), latency <= 10 us, 2 threads >= 1.8x\n");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_lenet: %s\n", e.what());
    return 1;
}
