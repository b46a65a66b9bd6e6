// archetype/train/trainer.hpp — train(net, data, optimizer, options) and evaluate(net, data, batch).
//
// Contract: train runs epochs first_epoch … epochs−1 (all `epochs` by default) of mini-batch training
// with softmax cross-entropy (label_smoothing ε: targets (1 − ε)·onehot + ε/classes, as torch's). A
// training cut in parts on the same network and optimizer object, with the same schedule (over the
// whole length) and seeds — epochs = e, then first_epoch = e, epochs = E — gives
// the bits of one uninterrupted training of E epochs. Each epoch
// visits the training set in a permutation drawn from (shuffle_seed, epoch) and cuts it into batches of
// batch_size; the last, smaller batch is used, not dropped (its mean loss is over its own samples, as
// PyTorch's DataLoader with drop_last=False). Per batch: net.forward_raw(x, n, true), cross_entropy,
// net.zero_grad(), net.backward_raw(dlogits), opt.step(net.params(), net.grads(), lr), where lr is
// lr_schedule.lr(epoch, opt.lr) (optimizers that take a thread pool as a fourth argument, as sgd, adam and
// adamw do, get net.pool()); with `augment` set, the batches are augmented (batch_loader, dataset.hpp),
// the same way for the same shuffle_seed. After each epoch it evaluates the optional eval set (inference mode)
// and calls on_epoch with the epoch's report. The same network seed, data, optimizer and options give
// the same weights, whatever the thread count. A non-finite loss throws archetype::error naming the
// epoch and batch and suggesting a lower learning rate; ε outside [0, 1), or a dataset whose sample
// shape differs from the network's input, or with more classes than the network has outputs, throws
// before training starts.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "archetype/core/error.hpp"
#include "archetype/train/dataset.hpp"
#include "archetype/train/loss.hpp"
#include "archetype/train/schedule.hpp"

namespace archetype {

struct epoch_report {
    int epoch = 0;                // counting from 0
    float lr = 0.0f;              // the learning rate used in this epoch
    double train_loss = 0.0;      // mean over the epoch's samples of the (smoothed) loss trained on
    double train_accuracy = 0.0;  // fraction of training samples classified right while training
    bool has_eval = false;        // whether an eval set was given
    double eval_loss = 0.0;       // mean loss on the eval set after the epoch (inference mode)
    double eval_accuracy = 0.0;   // accuracy on the eval set after the epoch
    double seconds = 0.0;         // wall time of the epoch, evaluation included
};

struct train_report {
    std::vector<epoch_report> epochs;
    std::size_t steps = 0;  // optimizer steps taken
};

struct train_options {
    int epochs = 1;                                       // the last epoch is epochs − 1
    int first_epoch = 0;                                  // continue a training stopped after this many
    std::size_t batch_size = 64;
    seed shuffle_seed{0};                                 // seed of the per-epoch permutations
    schedule lr_schedule = schedule::constant();          // applied to the optimizer's .lr
    augmentation augment{};                               // training-time transforms (default: none)
    float label_smoothing = 0.0f;                         // ε in [0, 1): targets (1 − ε)·onehot + ε/classes
    const dataset* eval = nullptr;                        // evaluated after every epoch when set
    std::size_t eval_batch_size = 256;
    std::function<void(const epoch_report&)> on_epoch = nullptr;  // called after every epoch when set
};

struct eval_result {
    double loss = 0.0;      // mean cross-entropy over the samples
    double accuracy = 0.0;  // fraction classified right (argmax == label)
};

namespace detail {

inline std::string without_prefix(const error& e) {
    constexpr const char* prefix = "archetype: ";
    const char* w = e.what();
    return std::strncmp(w, prefix, std::strlen(prefix)) == 0 ? w + std::strlen(prefix) : w;
}

template <class Net>
void check_data_fits(const dataset& d, const char* who) {
    static_assert(Net::output_shape.flat(),
                  "archetype::train/evaluate: the network must end in a flat output [N][classes] (add "
                  "flatten and dense<classes>)");
    if (!(d.sample == Net::input_shape))
        throw error(std::string(who) + ": the dataset's samples have shape " + d.sample.str() +
                    " but the network takes " + Net::input_shape.str() +
                    "; declare the network with the data's shape (C, H, W)");
    if (d.classes > Net::output_shape.c)
        throw error(std::string(who) + ": the dataset has " + std::to_string(d.classes) + " classes but the network " +
                    "has " + std::to_string(Net::output_shape.c) + " outputs; end the network in dense<" +
                    std::to_string(d.classes) + ">");
}

}  // namespace detail

// Loss and accuracy of the network on `data`, in inference mode, in batches of batch_size.
template <class Net>
eval_result evaluate(Net& net, const dataset& data, std::size_t batch_size = 256) {
    detail::check_data_fits<Net>(data, "evaluate");
    constexpr std::size_t k = Net::output_shape.size();
    batch_loader loader(data, batch_size);
    double loss = 0.0;
    std::size_t correct = 0;
    for (std::size_t i = 0; i < loader.size(); ++i) {
        const batch b = loader[i];
        const float* y = net.forward_raw(b.x, b.size, false);
        try {
            loss += cross_entropy(y, b.labels, b.size, k) * double(b.size);
        } catch (const error& e) {
            throw error("evaluate: batch " + std::to_string(i) + ": " + detail::without_prefix(e));
        }
        correct += count_correct(y, b.labels, b.size, k);
    }
    return {loss / double(data.size()), double(correct) / double(data.size())};
}

template <class Net, class Opt>
train_report train(Net& net, const dataset& data, Opt&& opt, const train_options& o) {
    detail::check_data_fits<Net>(data, "train");
    if (o.eval) detail::check_data_fits<Net>(*o.eval, "train (eval set)");
    if (o.epochs < 0) throw error("train: epochs = " + std::to_string(o.epochs) + " is negative");
    if (o.first_epoch < 0 || o.first_epoch > o.epochs)
        throw error("train: first_epoch = " + std::to_string(o.first_epoch) + " is outside 0.." +
                    std::to_string(o.epochs) + " (epochs); continue a training with first_epoch = the epochs it ran");
    if (o.batch_size == 0) throw error("train: batch_size is 0; use at least 1");
    try {
        check_label_smoothing(o.label_smoothing);
    } catch (const error& e) {
        throw error("train: " + detail::without_prefix(e));
    }
    constexpr std::size_t k = Net::output_shape.size();
    aligned_buffer<float> dlogits(std::min(o.batch_size, data.size()) * k);
    train_report report;
    for (int epoch = o.first_epoch; epoch < o.epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        epoch_report r;
        r.epoch = epoch;
        r.lr = o.lr_schedule.lr(epoch, opt.lr);
        batch_loader loader(data, o.batch_size, o.shuffle_seed, std::uint64_t(epoch), o.augment);
        const std::span<const std::size_t> order = loader.order();
        const std::size_t sample_bytes = data.sample.size() * sizeof(float);
        double loss_sum = 0.0;
        std::size_t correct = 0;
        for (std::size_t i = 0; i < loader.size(); ++i) {
            const batch b = loader[i];
            // Ask the cache for the next batch's images (scattered over the data set when shuffled, so
            // its gather would wait on memory image by image) while this one is computed. Written out
            // here: GCC deems a function of prefetches alone pure and drops calls to it.
            for (std::size_t j = (i + 1) * o.batch_size; j < std::min((i + 2) * o.batch_size, order.size()); ++j) {
                const char* p = reinterpret_cast<const char*>(data.image(order[j]));
                for (std::size_t byte = 0; byte < sample_bytes; byte += 64) __builtin_prefetch(p + byte, 0, 1);
            }
            const float* y = net.forward_raw(b.x, b.size, true);
            double loss = 0.0;
            try {
                loss = cross_entropy(y, b.labels, b.size, k, dlogits.data(), o.label_smoothing);
            } catch (const error& e) {
                throw error("train: epoch " + std::to_string(epoch) + ", batch " + std::to_string(i) + " (lr " +
                            std::to_string(r.lr) + "): " + detail::without_prefix(e));
            }
            loss_sum += loss * double(b.size);
            correct += count_correct(y, b.labels, b.size, k);
            net.zero_grad();
            net.backward_raw(dlogits.data());
            if constexpr (requires { opt.step(net.params(), net.grads(), r.lr, net.pool()); })
                opt.step(net.params(), net.grads(), r.lr, net.pool());  // spread over the network's threads
            else
                opt.step(net.params(), net.grads(), r.lr);
            ++report.steps;
        }
        r.train_loss = loss_sum / double(data.size());
        r.train_accuracy = double(correct) / double(data.size());
        if (o.eval) {
            const eval_result e = evaluate(net, *o.eval, o.eval_batch_size);
            r.has_eval = true;
            r.eval_loss = e.loss;
            r.eval_accuracy = e.accuracy;
        }
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        report.epochs.push_back(r);
        if (o.on_epoch) o.on_epoch(r);
    }
    return report;
}

}  // namespace archetype
