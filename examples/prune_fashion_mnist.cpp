// Trains LeNet-5 on Fashion-MNIST (or loads its weights), then prunes copies of it and reports test
// accuracy before and after (against the dense network, and against the dense network trained for as many
// more epochs as the pruned ones are fine-tuned: the fair reference for fine-tuned methods), the sparsity per layer and overall, and the size of the weights stored sparse
// (kept values + a 1-bit-per-weight bitmask) against dense:
//   1. magnitude to the target at once, no fine-tuning (the control: what fine-tuning buys);
//   2. AGP (automated gradual pruning) to the target (default 80 %) with magnitude ranking (global over all
//      layers, or layer-wise with --layer-wise) while fine-tuning, the mask held by masked_optimizer;
//   3. 2:4 on the layers whose reduction axis 4 divides (LeNet's dense layers; the convolutions' 25 and 150
//      are not multiples of 4), one-shot, then fine-tuned with the mask held.
//
//   prune_fashion_mnist [--epochs N] [--finetune-epochs N] [--sparsity S] [--layer-wise 1] [--lr LR]
//                       [--load FILE] [--save FILE] [--data DIR] [--threads N]
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "archetype/blocks/classic_nets.hpp"
#include "archetype/compress/masked_training.hpp"
#include "archetype/graph/graph.hpp"
#include "archetype/layers/layers.hpp"
#include "archetype/io/weights.hpp"
#include "archetype/train/train.hpp"
#include "cli.hpp"

namespace at = archetype;
namespace pr = archetype::pruning;

using net_t = at::network<at::shape{1, 28, 28}, at::lenet5>;

namespace {

struct result {
    std::string method;
    double accuracy;
    pr::sparsity_report report;
};

void print_epoch(const at::epoch_report& r) {
    std::printf("  epoch %2d  lr %.4f  train loss %.4f  train acc %.2f%%  (%.1f s)\n", r.epoch + 1, r.lr, r.train_loss,
                100.0 * r.train_accuracy, r.seconds);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
    std::size_t epochs = 10, finetune_epochs = 5, threads = 1, layer_wise = 0;
    double sparsity = 0.8, lr = 0.01;
    std::string data = at::default_fashion_mnist_dir().string(), load, save;
    examples::cli args("prune_fashion_mnist", "AGP, one-shot and 2:4 pruning of LeNet-5 on Fashion-MNIST");
    args.flag("--epochs", epochs, "training epochs of the dense network")
        .flag("--finetune-epochs", finetune_epochs, "fine-tuning epochs of each pruned network (AGP prunes in the first 2/3)")
        .flag("--sparsity", sparsity, "AGP target sparsity of the prunable weights")
        .flag("--layer-wise", layer_wise, "1: AGP ranks each layer on its own; 0: one global ranking")
        .flag("--lr", lr, "SGD learning rate (momentum 0.9) of training and fine-tuning")
        .flag("--load", load, "weights of a trained LeNet-5 (skips training)")
        .flag("--save", save, "where to save the trained dense weights")
        .flag("--data", data, "Fashion-MNIST directory")
        .flag("--threads", threads, "threads (results do not depend on it)");
    args.parse(argc, argv);
    if (threads < 1 || finetune_epochs < 1 || epochs < 1) args.fail("epochs, finetune-epochs and threads must be >= 1");
    if (!(sparsity >= 0.0 && sparsity < 1.0)) args.fail("sparsity must lie in [0, 1)");

    const auto train_set = at::load_fashion_mnist(at::fashion_mnist_part::train, data);
    const auto test_set = at::load_fashion_mnist(at::fashion_mnist_part::test, data);
    std::unique_ptr<at::thread_pool> pool;
    if (threads > 1) pool = std::make_unique<at::thread_pool>(threads);
    const auto sgd = at::sgd{.lr = float(lr), .momentum = 0.9f};
    at::train_options to;
    to.batch_size = 64;
    to.shuffle_seed = at::seed{1};
    to.on_epoch = print_epoch;

    net_t dense{at::seed{1}, pool.get()};
    if (!load.empty()) {
        at::load_weights(dense, load);
        std::printf("weights loaded from %s\n", load.c_str());
    } else {
        std::printf("training LeNet-5 for %zu epochs\n", epochs);
        to.epochs = int(epochs);
        at::train(dense, train_set, at::sgd(sgd), to);
        if (!save.empty()) at::save_weights(dense, save);
    }
    std::vector<result> results;
    const auto base_mask = pr::mask::of<net_t>();
    results.push_back({"dense", at::evaluate(dense, test_set).accuracy, base_mask.report(dense.params())});

    to.epochs = int(finetune_epochs);
    to.shuffle_seed = at::seed{2};  // other batches than the training's first epochs
    {
        net_t net = dense;
        std::printf("dense fine-tuning for %zu epochs (the reference of the fine-tuned methods)\n", finetune_epochs);
        at::train(net, train_set, at::sgd(sgd), to);
        results.push_back({"dense + fine-tuning", at::evaluate(net, test_set).accuracy, base_mask.report(net.params())});
    }
    // 1. one-shot magnitude, no fine-tuning
    {
        net_t net = dense;
        auto mask = base_mask;
        if (layer_wise) {
            pr::prune<pr::magnitude>(net, mask, sparsity);
        } else {
            pr::prune<pr::global_magnitude>(net, mask, sparsity);
        }
        results.push_back({"one-shot, no fine-tuning", at::evaluate(net, test_set).accuracy, mask.report(net.params())});
    }
    // 2. AGP while fine-tuning: updates every dt steps over the first 2/3 of the steps
    const std::size_t steps_per_epoch = (train_set.size() + to.batch_size - 1) / to.batch_size;
    const std::size_t total = steps_per_epoch * finetune_epochs, dt = std::max<std::size_t>(1, total / 60);
    const std::size_t n = std::max<std::size_t>(1, (2 * total / 3) / dt);
    {
        net_t net = dense;
        pr::masked_optimizer opt{sgd, base_mask};
        const auto schedule = pr::sparsity_schedule::gradual(0.0, sparsity, 0, n, dt);
        if (layer_wise) {
            opt.prune_with<pr::magnitude>(schedule);
        } else {
            opt.prune_with<pr::global_magnitude>(schedule);
        }
        std::printf("AGP to %.0f%% (%s): %zu updates every %zu steps, last at step %zu of %zu\n", 100.0 * sparsity,
                    layer_wise ? "layer-wise" : "global", n + 1, dt, schedule.last_update(), total);
        at::train(net, train_set, opt, to);
        results.push_back({"AGP + fine-tuning", at::evaluate(net, test_set).accuracy, opt.mask.report(net.params())});
    }
    // 3. 2:4 on the layers it fits, one-shot then fine-tuned
    {
        net_t net = dense;
        auto mask = base_mask;
        std::vector<std::size_t> fits;
        for (const auto& l : mask.layers())
            if (l.row % 4 == 0) fits.push_back(l.leaf_index);
        using two_four = pr::n_of_m<2, 4>;
        pr::prune<two_four>(net, mask, two_four::sparsity, fits);
        results.push_back({"2:4 one-shot", at::evaluate(net, test_set).accuracy, mask.report(net.params())});
        std::printf("2:4 fine-tuning\n");
        pr::masked_optimizer opt{sgd, mask};
        at::train(net, train_set, opt, to);
        results.push_back({"2:4 + fine-tuning", at::evaluate(net, test_set).accuracy, opt.mask.report(net.params())});
    }

    for (const auto& r : results) {
        if (r.report.pruned == 0) continue;
        std::printf("\n%s: per layer\n%s", r.method.c_str(), r.report.str().c_str());
    }
    const double base = results[0].accuracy, tuned = results[1].accuracy;
    std::printf("\n%-26s %9s %9s %9s %9s %10s %10s %7s\n", "method", "test acc", "vs dense", "vs tuned", "sparsity",
                "dense B", "sparse B", "ratio");
    for (const auto& r : results) {
        const bool fine_tuned = r.method.find("+ fine-tuning") != std::string::npos && r.method != "dense + fine-tuning";
        char vs_tuned[32] = "";
        if (fine_tuned) std::snprintf(vs_tuned, sizeof vs_tuned, "%+.2f", 100.0 * (r.accuracy - tuned));
        std::printf("%-26s %8.2f%% %+9.2f %9s %8.2f%% %10zu %10zu %6.2fx\n", r.method.c_str(), 100.0 * r.accuracy,
                    100.0 * (r.accuracy - base), vs_tuned, 100.0 * r.report.sparsity(), r.report.dense_bytes(),
                    r.report.sparse_bytes(), double(r.report.dense_bytes()) / double(r.report.sparse_bytes()));
    }
    std::printf("(changes in points; vs tuned: against the dense network fine-tuned as long; sparsity: of the conv and "
                "dense weights; bytes: all parameters, pruned layers as values + bitmask)\n");
    return 0;
} catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
}
