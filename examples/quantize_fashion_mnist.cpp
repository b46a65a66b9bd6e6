// Trains LeNet-5 on Fashion-MNIST (or loads its weights), quantizes it to int8 after training (per-channel
// symmetric weights, affine u8 activations calibrated on training samples) and reports test accuracy, size
// and single-thread inference speed before and after; with --qat N, then fine-tunes it for N epochs with
// quantization-aware training (compress/qat.hpp; observers frozen for the last epoch when N >= 2) and
// reports the accuracy of the QAT network and of the int8 network converted from it, next to the fp32
// network fine-tuned with the same epochs and schedule (the fair baseline: QAT also trains further).
//
//   quantize_fashion_mnist [--epochs N] [--load weights.atw] [--save weights.atw] [--data DIR]
//                          [--calibration N] [--fixed-point] [--qat N] [--qat-lr LR]
// --load skips training. --fixed-point uses TFLite's fixed-point requantization instead of PyTorch's float
// multiplier. --qat-lr (default 0.001) is QAT's SGD learning rate (momentum 0.9, cosine schedule).
// DIR defaults to /usr/share/datasets/fashion-mnist.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "archetype/blocks/classic_nets.hpp"
#include "archetype/compress/int8_network.hpp"
#include "archetype/compress/qat.hpp"
#include "archetype/io/weights.hpp"
#include "archetype/train/train.hpp"

namespace at = archetype;
namespace q = archetype::quant;

using net_t = at::network<at::shape{1, 28, 28}, at::lenet5>;

namespace {

struct options {
    int epochs = 3;
    std::string data = at::default_fashion_mnist_dir().string(), load, save;
    std::size_t calibration = 1000;
    bool fixed_point = false;
    int qat = 0;
    float qat_lr = 0.001f;
};

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "quantize_fashion_mnist: " << why
              << "\nusage: quantize_fashion_mnist [--epochs N] [--load FILE] [--save FILE] [--data DIR] "
                 "[--calibration N] [--fixed-point] [--qat N] [--qat-lr LR]\n";
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") usage("post-training int8 quantization of LeNet-5");
        if (a == "--fixed-point") {
            o.fixed_point = true;
            continue;
        }
        if (i + 1 >= argc) usage("option " + a + " needs a value");
        const std::string v = argv[++i];
        try {
            if (a == "--epochs")
                o.epochs = std::stoi(v);
            else if (a == "--load")
                o.load = v;
            else if (a == "--save")
                o.save = v;
            else if (a == "--data")
                o.data = v;
            else if (a == "--calibration")
                o.calibration = std::stoul(v);
            else if (a == "--qat")
                o.qat = std::stoi(v);
            else if (a == "--qat-lr")
                o.qat_lr = std::stof(v);
            else
                usage("unknown option " + a);
        } catch (const std::logic_error&) {
            usage("option " + a + " takes a number, not '" + v + "'");
        }
    }
    if (o.epochs < 1 || o.calibration < 1) usage("epochs and calibration must be at least 1");
    if (o.qat < 0 || !(o.qat_lr > 0.0f)) usage("--qat must be at least 0 and --qat-lr positive");
    return o;
}

double thread_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// Accuracy and per-sample CPU time (median of 5 passes over the test set, batches of 256).
template <class Run>
std::pair<double, double> measure(const at::dataset& test, Run run) {
    std::size_t right = 0;
    double times[5];
    for (double& t : times) {
        right = 0;
        const double t0 = thread_seconds();
        for (std::size_t s = 0; s < test.size(); s += 256) {
            const std::size_t n = std::min<std::size_t>(256, test.size() - s);
            const float* y = run(test.image(s), n);
            for (std::size_t i = 0; i < n; ++i) {
                const float* row = y + i * 10;
                right += std::size_t(std::max_element(row, row + 10) - row) == std::size_t(test.labels[s + i]);
            }
        }
        t = (thread_seconds() - t0) / double(test.size());
    }
    std::sort(times, times + 5);
    return {double(right) / double(test.size()), times[2]};
}

template <class Requant>
void report(net_t& net, const at::dataset& train_set, const at::dataset& test, const options& o) {
    const auto [acc32, t32] =
        measure(test, [&](const float* x, std::size_t n) { return net.forward_raw(x, n, false); });
    const std::size_t calib = std::min(o.calibration, train_set.size());
    q::int8_network<net_t, Requant> qnet(net, train_set.image(0), calib);
    const auto [acc8, t8] = measure(test, [&](const float* x, std::size_t n) { return qnet.forward(x, n); });
    std::printf("int8 kernels: %s path; requantization: %s; calibrated on %zu training samples\n", qnet.path_name(),
                Requant::name, calib);
    std::printf("%-6s  %9s  %12s  %16s\n", "", "test acc", "weights", "CPU us/sample");
    std::printf("%-6s  %8.2f%%  %9zu B  %16.2f\n", "fp32", 100.0 * acc32, at::params_v<net_t> * sizeof(float),
                1e6 * t32);
    std::printf("%-6s  %8.2f%%  %9zu B  %16.2f\n", "int8", 100.0 * acc8, qnet.weight_bytes(), 1e6 * t8);
    std::printf("accuracy change %+.2f points, %.2fx smaller, %.2fx faster (single thread)\n", 100.0 * (acc8 - acc32),
                double(at::params_v<net_t> * sizeof(float)) / double(qnet.weight_bytes()), t32 / t8);
    if (o.qat == 0) return;

    // The fair baseline: the fp32 network fine-tuned with the same schedule, without fake quantization.
    net_t tuned{at::seed{1}};
    std::copy(net.params().begin(), net.params().end(), tuned.params().begin());
    std::copy(net.state().begin(), net.state().end(), tuned.state().begin());
    q::qat_network<net_t> qat(net);  // fine-tunes net in place
    at::train_options to;
    to.epochs = o.qat;
    to.batch_size = 64;
    to.shuffle_seed = at::seed{2};
    to.lr_schedule = at::schedule::cosine(o.qat);
    to.on_epoch = [&](const at::epoch_report& r) {
        std::printf("qat epoch %2d  lr %.5f  train loss %.4f  train acc %.2f%%  (%.1f s)\n", r.epoch + 1, r.lr,
                    r.train_loss, 100.0 * r.train_accuracy, r.seconds);
        std::fflush(stdout);
        if (o.qat >= 2 && r.epoch + 2 == o.qat) qat.freeze_observers();
    };
    at::train(qat, train_set, at::sgd{.lr = o.qat_lr, .momentum = 0.9f}, to);
    to.on_epoch = nullptr;
    at::train(tuned, train_set, at::sgd{.lr = o.qat_lr, .momentum = 0.9f}, to);
    const auto [acc_tuned, tt] =
        measure(test, [&](const float* x, std::size_t n) { return tuned.forward_raw(x, n, false); });
    (void)tt;
    qat.freeze_observers();
    const auto [acc_qat, tq] = measure(test, [&](const float* x, std::size_t n) { return qat.forward_raw(x, n, false); });
    auto converted = qat.template convert<Requant>();
    const auto [acc_conv, tc] = measure(test, [&](const float* x, std::size_t n) { return converted.forward(x, n); });
    (void)tq;
    std::printf("%-12s  %9s  %9s\n", "", "test acc", "vs fp32");
    std::printf("%-12s  %8.2f%%  %+8.2f\n", "fp32", 100.0 * acc32, 0.0);
    std::printf("%-12s  %8.2f%%  %+8.2f\n", "PTQ int8", 100.0 * acc8, 100.0 * (acc8 - acc32));
    std::printf("%-12s  %8.2f%%  %+8.2f\n", "QAT (fake)", 100.0 * acc_qat, 100.0 * (acc_qat - acc32));
    std::printf("%-12s  %8.2f%%  %+8.2f  (%.2f us/sample)\n", "QAT int8", 100.0 * acc_conv, 100.0 * (acc_conv - acc32),
                1e6 * tc);
    std::printf("%-12s  %8.2f%%  %+8.2f  (fp32 fine-tuned with the same %d epochs and schedule)\n", "fp32 tuned",
                100.0 * acc_tuned, 100.0 * (acc_tuned - acc32), o.qat);
    std::printf("QAT int8 vs fp32 tuned: %+.2f points; QAT int8 vs fp32: %+.2f points\n",
                100.0 * (acc_conv - acc_tuned), 100.0 * (acc_conv - acc32));
}

}  // namespace

int main(int argc, char** argv) try {
    const options o = parse(argc, argv);
    const auto train_set = at::load_fashion_mnist(at::fashion_mnist_part::train, o.data);
    const auto test_set = at::load_fashion_mnist(at::fashion_mnist_part::test, o.data);
    net_t net{at::seed{1}};
    if (!o.load.empty()) {
        at::load_weights(net, o.load);
        std::printf("weights loaded from %s\n", o.load.c_str());
    } else {
        at::train_options to;
        to.epochs = o.epochs;
        to.batch_size = 64;
        to.shuffle_seed = at::seed{1};
        to.on_epoch = [](const at::epoch_report& r) {
            std::printf("epoch %2d  train loss %.4f  train acc %.2f%%  (%.1f s)\n", r.epoch + 1, r.train_loss,
                        100.0 * r.train_accuracy, r.seconds);
            std::fflush(stdout);
        };
        at::train(net, train_set, at::sgd{.lr = 0.01f, .momentum = 0.9f}, to);
        if (!o.save.empty()) at::save_weights(net, o.save);
    }
    if (o.fixed_point) {
        report<q::fixed_point_requantization>(net, train_set, test_set, o);
    } else {
        report<q::float_requantization>(net, train_set, test_set, o);
    }
    return 0;
} catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
}
