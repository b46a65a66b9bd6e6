// Prunes and quantizes a trained Fashion-MNIST CNN and reports what it pays: trains the hand CNN of
// examples/fashion_search.cpp (conv-BN-ReLU 16 → pool → 32 → pool → 64, flatten, dense 10), removes 50% of
// its channels structurally (a smaller *type*, structurally_pruned_t with keep_ratio<1/2>, kept filters by
// L1 norm), fine-tunes the small network, quantizes it to int8 after training (per-channel symmetric
// weights, affine u8 activations) and prints test accuracy, parameter bytes and single-thread latency at
// batch 1 and batch 64 for big fp32, pruned fp32 and pruned int8.
//   compress_fashion_mnist [--epochs N] [--finetune N] [--lr LR] [--threads N] [--calibration N]
//                          [--header FILE] [--data DIR] [--test-samples N]
// --header writes the pruned fp32 network (type and weights) as a header (archetype::write_network_header).
// Latency: thread CPU time, median of 5 passes over --test-samples test images (one image per call at
// batch 1, 64 per call at batch 64). Training uses --threads threads (the same result for any count).
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "archetype/blocks/classic_nets.hpp"
#include "archetype/compress/int8_network.hpp"
#include "archetype/compress/structural_pruning_weights.hpp"
#include "archetype/space/codegen.hpp"
#include "archetype/train/train.hpp"
#include "cli.hpp"

namespace at = archetype;
namespace q = archetype::quant;

using big_t = at::network<at::shape{1, 28, 28}, at::small_cnn>;
using pruned_t = at::structurally_pruned_t<big_t, at::keep_ratio<std::ratio<1, 2>>>;

namespace {

struct options {
    int epochs = 4, finetune = 4;
    float lr = 0.02f;
    std::size_t threads = 2, calibration = 1000, test_samples = 10000;
    std::string data = at::default_fashion_mnist_dir().string(), header;
};

double thread_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

struct figures {
    double accuracy = 0, batch1_us = 0, batch64_us = 0;
    std::size_t bytes = 0;
};

// Accuracy on the whole test set; latency per call, median of 5 passes over `samples` test images.
template <class Run>
figures measure(const at::dataset& test, std::size_t samples, std::size_t bytes, Run run) {
    figures f;
    f.bytes = bytes;
    std::size_t right = 0;
    for (std::size_t s = 0; s < test.size(); s += 64) {
        const std::size_t n = std::min<std::size_t>(64, test.size() - s);
        const float* y = run(test.image(s), n);
        for (std::size_t i = 0; i < n; ++i)
            right += std::size_t(std::max_element(y + i * 10, y + i * 10 + 10) - (y + i * 10)) ==
                     std::size_t(test.labels[s + i]);
    }
    f.accuracy = double(right) / double(test.size());
    samples = std::min(samples, test.size()) / 64 * 64;
    for (std::size_t batch : {std::size_t(1), std::size_t(64)}) {
        std::vector<double> t(5);
        for (double& v : t) {
            const double t0 = thread_seconds();
            for (std::size_t s = 0; s < samples; s += batch) run(test.image(s), batch);
            v = (thread_seconds() - t0) / double(samples / batch);
        }
        std::sort(t.begin(), t.end());
        (batch == 1 ? f.batch1_us : f.batch64_us) = 1e6 * t[2];
    }
    return f;
}

template <class Net>
void train(Net& net, const at::dataset& data, int epochs, float lr, const char* what) {
    at::train_options to;
    to.epochs = epochs;
    to.batch_size = 64;
    to.shuffle_seed = at::seed{1};
    to.lr_schedule = at::schedule::cosine(epochs);
    to.on_epoch = [what](const at::epoch_report& r) {
        std::printf("%s epoch %d  train loss %.4f  train acc %.2f%%  (%.1f s)\n", what, r.epoch + 1, r.train_loss,
                    100.0 * r.train_accuracy, r.seconds);
        std::fflush(stdout);
    };
    at::train(net, data, at::sgd{.lr = lr, .momentum = 0.9f}, to);
}

}  // namespace

int main(int argc, char** argv) try {
    options o;
    examples::cli args("compress_fashion_mnist",
                       "trains a CNN on Fashion-MNIST, prunes 50% of its channels into a smaller type, fine-tunes "
                       "it, quantizes it to int8 and compares accuracy, size and speed");
    args.flag("--epochs", o.epochs, "training epochs of the big network")
        .flag("--finetune", o.finetune, "fine-tuning epochs of the pruned network")
        .flag("--lr", o.lr, "SGD learning rate (momentum 0.9, cosine decay)")
        .flag("--threads", o.threads, "training threads")
        .flag("--calibration", o.calibration, "training samples that calibrate the int8 ranges")
        .flag("--test-samples", o.test_samples, "test images timed per latency pass")
        .flag("--header", o.header, "write the pruned fp32 network as a C++ header to this file")
        .flag("--data", o.data, "directory of the Fashion-MNIST IDX files");
    args.parse(argc, argv);
    if (o.epochs < 1 || o.finetune < 0 || o.threads < 1 || o.calibration < 1 || o.test_samples < 64)
        throw at::error("compress_fashion_mnist: --epochs, --threads and --calibration must be at least 1, "
                        "--finetune at least 0 and --test-samples at least 64");
    const auto train_set = at::load_fashion_mnist(at::fashion_mnist_part::train, o.data);
    const auto test_set = at::load_fashion_mnist(at::fashion_mnist_part::test, o.data);
    at::thread_pool pool(o.threads);

    big_t big{at::seed{1}, o.threads > 1 ? &pool : nullptr};
    train(big, train_set, o.epochs, o.lr, "big   ");
    big.set_pool(nullptr);

    std::vector<at::pruned_layer> report;
    auto small = at::prune_channels<pruned_t>(big, at::filter_norm::l1, &report);
    for (const auto& l : report)
        std::printf("pruned %-40s %zu -> %zu channels\n", l.layer.c_str(), l.width, l.kept.size());
    const double before_finetune = at::evaluate(small, test_set).accuracy;
    std::printf("pruned network before fine-tuning: test acc %.2f%%\n", 100.0 * before_finetune);
    if (o.finetune > 0) {
        small.set_pool(o.threads > 1 ? &pool : nullptr);
        train(small, train_set, o.finetune, o.lr * 0.5f, "pruned");
        small.set_pool(nullptr);
    }
    if (!o.header.empty()) {
        at::write_network_header(small, o.header, {.name = "pruned_cnn"},
                                 "compress_fashion_mnist: the hand CNN with 50% of its channels pruned, fine-tuned");
        std::printf("pruned network written to %s\n", o.header.c_str());
    }

    const std::size_t calib = std::min(o.calibration, train_set.size());
    q::int8_network<pruned_t> qsmall(small, train_set.image(0), calib);

    const auto f_big = measure(test_set, o.test_samples, at::params_v<big_t> * sizeof(float),
                               [&](const float* x, std::size_t n) { return big.forward_raw(x, n, false); });
    const auto f_small = measure(test_set, o.test_samples, at::params_v<pruned_t> * sizeof(float),
                                 [&](const float* x, std::size_t n) { return small.forward_raw(x, n, false); });
    const auto f_int8 = measure(test_set, o.test_samples, qsmall.weight_bytes(),
                                [&](const float* x, std::size_t n) { return qsmall.forward(x, n); });

    std::printf("\nsingle thread; fp32 kernels %s, int8 path %s; MACs per sample: big %zu, pruned %zu\n",
                at::kernels::simd_name(), qsmall.path_name(), at::macs_v<big_t>, at::macs_v<pruned_t>);
    std::printf("%-13s %9s %12s %14s %15s\n", "", "test acc", "param bytes", "batch 1 us", "batch 64 us");
    const auto row = [](const char* name, const figures& f) {
        std::printf("%-13s %8.2f%% %12zu %14.1f %15.1f\n", name, 100.0 * f.accuracy, f.bytes, f.batch1_us,
                    f.batch64_us);
    };
    row("big fp32", f_big);
    row("pruned fp32", f_small);
    row("pruned int8", f_int8);
    std::printf("pruning: %+.2f points, %.2fx faster at batch 1, %.2fx at batch 64, %.2fx fewer parameter bytes\n",
                100.0 * (f_small.accuracy - f_big.accuracy), f_big.batch1_us / f_small.batch1_us,
                f_big.batch64_us / f_small.batch64_us, double(f_big.bytes) / double(f_small.bytes));
    std::printf("pruning + int8: %+.2f points, %.2fx faster at batch 1, %.2fx at batch 64, %.2fx smaller\n",
                100.0 * (f_int8.accuracy - f_big.accuracy), f_big.batch1_us / f_int8.batch1_us,
                f_big.batch64_us / f_int8.batch64_us, double(f_big.bytes) / double(f_int8.bytes));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
}
