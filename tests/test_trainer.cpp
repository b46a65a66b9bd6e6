// The trainer: it does exactly the documented loop (checked against a hand-written one), is deterministic
// whatever the thread count (an MLP, and a conv net large enough for every threaded path), keeps the last partial batch, applies the schedule, reports divergence; and
// a small MLP really learns Fashion-MNIST.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "archetype/graph/network.hpp"
#include "archetype/graph/sequential.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"
#include "archetype/train/train.hpp"

namespace at = archetype;

namespace {

using mlp = at::sequential<at::flatten, at::dense<8>, at::relu, at::dense<3>>;
using toy_net = at::network<at::shape{1, 2, 2}, mlp>;

// Three noisy clusters in 4 dimensions.
at::dataset toy_data(std::size_t n, std::uint64_t s = 1) {
    at::dataset d;
    d.sample = {1, 2, 2};
    d.classes = 3;
    d.images.resize(4 * n);
    at::rng g(at::seed{s});
    for (std::size_t i = 0; i < n; ++i) {
        const int c = int(i % 3);
        d.labels.push_back(c);
        for (int j = 0; j < 4; ++j) d.images[4 * i + j] = (j == c ? 1.5f : 0.0f) + 0.5f * g.normal();
    }
    return d;
}

template <class Net>
std::vector<float> params_of(Net& n) {
    return {n.params().begin(), n.params().end()};
}

// The loop train() documents, written out: 2 epochs of batches of 4 shuffled with seed 9, 3 classes.
template <class Net, class Opt>
void written_out_training(Net& net, const at::dataset& d, Opt& opt, const at::schedule& sched, float smoothing = 0.0f) {
    std::vector<float> dlogits(4 * 3);
    for (int epoch = 0; epoch < 2; ++epoch) {
        at::batch_loader loader(d, 4, at::seed{9}, std::uint64_t(epoch));
        for (std::size_t i = 0; i < loader.size(); ++i) {
            const at::batch bt = loader[i];
            const float* y = net.forward_raw(bt.x, bt.size, true);
            at::cross_entropy(y, bt.labels, bt.size, 3, dlogits.data(), smoothing);
            net.zero_grad();
            net.backward_raw(dlogits.data());
            opt.step(net.params(), net.grads(), sched.lr(epoch, opt.lr));
        }
    }
}

}  // namespace

TEST_CASE("train() is the documented loop: shuffled batches, loss, zero_grad, backward, step") {
    const at::dataset d = toy_data(10);
    toy_net a{at::seed{4}}, b{at::seed{4}};
    at::sgd oa{.lr = 0.1f, .momentum = 0.9f}, ob = oa;
    const auto sched = at::schedule::step(1, 0.5f);
    const auto report = at::train(a, d, oa, {.epochs = 2, .batch_size = 4, .shuffle_seed = at::seed{9},
                                             .lr_schedule = sched});
    CHECK(report.steps == 6);  // 10 samples in batches of 4: 4 + 4 + 2, the partial batch is used
    written_out_training(b, d, ob, sched);
    CHECK(params_of(a) == params_of(b));  // bit-identical
    CHECK(report.epochs[1].lr == doctest::Approx(0.05));
}

TEST_CASE("label smoothing: the loop trains on the smoothed loss; outside [0, 1) it is an error") {
    const at::dataset d = toy_data(10);
    toy_net a{at::seed{4}}, b{at::seed{4}}, plain{at::seed{4}};
    at::sgd oa{.lr = 0.1f, .momentum = 0.9f}, ob = oa, op = oa;
    const at::train_options o{.epochs = 2, .batch_size = 4, .shuffle_seed = at::seed{9}, .label_smoothing = 0.2f};
    at::train(a, d, oa, o);
    written_out_training(b, d, ob, at::schedule::constant(), 0.2f);
    CHECK(params_of(a) == params_of(b));  // bit-identical
    at::train(plain, d, op, {.epochs = 2, .batch_size = 4, .shuffle_seed = at::seed{9}});
    CHECK(params_of(a) != params_of(plain));  // the option is not ignored
    toy_net c{at::seed{4}};
    CHECK_THROWS_WITH_AS(at::train(c, d, at::sgd{}, {.label_smoothing = 1.0f}),
                         doctest::Contains("train: cross-entropy: label smoothing 1"), at::error);
}

TEST_CASE("training is deterministic: same seed, same weights, with or without threads") {
    const at::dataset d = toy_data(300);
    at::thread_pool pool(2);
    toy_net a{at::seed{1}}, b{at::seed{1}, &pool}, c{at::seed{1}};
    const at::train_options o{.epochs = 2, .batch_size = 16, .shuffle_seed = at::seed{3}};
    at::train(a, d, at::adam{.lr = 0.01f}, o);
    at::train(b, d, at::adam{.lr = 0.01f}, o);
    at::train(c, d, at::adam{.lr = 0.01f}, {.epochs = 2, .batch_size = 16, .shuffle_seed = at::seed{4}});
    CHECK(params_of(a) == params_of(b));
    CHECK(params_of(a) != params_of(c));  // the shuffle seed matters
}

TEST_CASE("a conv net trains to the same bits on 1 and 2 threads (grouped conv gradients, threaded step)") {
    // conv gradients over 4 sample groups per batch of 64 (and 1 for the last 8 samples); 26,132
    // parameters, enough for the optimizer to spread its step over the pool
    using conv_net = at::network<at::shape{1, 14, 14}, at::sequential<at::conv2d<6, 3>, at::relu, at::conv2d<8, 3>,
                                                                      at::relu, at::flatten, at::dense<32>>>;
    static_assert(conv_net::param_count == 26132 && conv_net::param_count >= at::detail::optimizer_parallel_min);
    at::dataset d;
    d.sample = {1, 14, 14};
    d.classes = 32;
    d.images.resize(200 * 14 * 14);
    at::rng g(at::seed{8});
    for (std::size_t i = 0; i < 200; ++i) {
        d.labels.push_back(int(i % 7));
        for (std::size_t j = 0; j < 14 * 14; ++j)
            d.images[i * 14 * 14 + j] = g.uniform(0.0f, 1.0f) + (j % 7 == i % 7 ? 0.5f : 0.0f);
    }
    at::thread_pool pool(2), pool3(3);
    conv_net one{at::seed{3}}, two{at::seed{3}, &pool}, three{at::seed{3}, &pool3};
    const at::train_options o{.epochs = 2, .batch_size = 64, .shuffle_seed = at::seed{5}};
    const auto r1 = at::train(one, d, at::sgd{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-4f}, o);
    const auto r2 = at::train(two, d, at::sgd{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-4f}, o);
    at::train(three, d, at::sgd{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-4f}, o);
    CHECK(params_of(one) == params_of(two));
    CHECK(params_of(one) == params_of(three));
    CHECK(r1.epochs[1].train_loss == r2.epochs[1].train_loss);
    CHECK(r1.epochs[1].train_loss < r1.epochs[0].train_loss);  // it did train
    conv_net adam_one{at::seed{3}}, adam_two{at::seed{3}, &pool};
    at::train(adam_one, d, at::adamw{.lr = 1e-3f}, o);
    at::train(adam_two, d, at::adamw{.lr = 1e-3f}, o);
    CHECK(params_of(adam_one) == params_of(adam_two));
}

TEST_CASE("a training cut in parts continues to the bits of an uninterrupted one (first_epoch)") {
    const at::dataset d = toy_data(90);
    const auto sched = at::schedule::cosine(5);
    const at::train_options whole{.epochs = 5, .batch_size = 16, .shuffle_seed = at::seed{7}, .lr_schedule = sched};
    toy_net a{at::seed{2}}, b{at::seed{2}}, c{at::seed{2}}, fresh{at::seed{2}};
    at::sgd oa{.lr = 0.1f, .momentum = 0.9f, .nesterov = true}, ob = oa;
    at::adam aa{.lr = 0.01f}, ab = aa;
    const auto ra = at::train(a, d, oa, whole);
    at::train_options part = whole;
    part.epochs = 2;
    at::train(b, d, ob, part);
    CHECK(params_of(a) != params_of(b));  // not there yet
    part.first_epoch = 2;
    part.epochs = 5;
    const auto rb = at::train(b, d, ob, part);
    CHECK(params_of(a) == params_of(b));  // momentum kept in the optimizer object, lr from the whole schedule
    REQUIRE(rb.epochs.size() == 3);
    CHECK(rb.epochs[0].epoch == 2);
    CHECK(rb.epochs[2].train_loss == ra.epochs[4].train_loss);
    toy_net e{at::seed{2}}, f{at::seed{2}};
    at::train(e, d, aa, whole);  // Adam's bias correction counts steps across the parts
    at::train(f, d, ab, {.epochs = 3, .batch_size = 16, .shuffle_seed = at::seed{7}, .lr_schedule = sched});
    at::train(f, d, ab, {.epochs = 5, .first_epoch = 3, .batch_size = 16, .shuffle_seed = at::seed{7}, .lr_schedule = sched});
    CHECK(params_of(e) == params_of(f));
    at::train(c, d, oa, {.epochs = 5, .first_epoch = 5});  // nothing left to run: no change
    CHECK(params_of(c) == params_of(fresh));
    CHECK_THROWS_WITH_AS(at::train(c, d, oa, {.epochs = 3, .first_epoch = 4}),
                         doctest::Contains("first_epoch = 4 is outside 0..3"), at::error);
}

TEST_CASE("the per-epoch callback sees the schedule, the losses and the evaluation") {
    const at::dataset d = toy_data(300), held = toy_data(150, 2);
    toy_net net{at::seed{2}};
    std::vector<at::epoch_report> seen;
    const auto r = at::train(net, d, at::sgd{.lr = 0.2f, .momentum = 0.9f},
                             {.epochs = 4, .batch_size = 10, .lr_schedule = at::schedule::cosine(4), .eval = &held,
                              .on_epoch = [&](const at::epoch_report& e) { seen.push_back(e); }});
    REQUIRE(seen.size() == 4);
    for (int e = 0; e < 4; ++e) {
        CHECK(seen[std::size_t(e)].epoch == e);
        CHECK(seen[std::size_t(e)].lr == doctest::Approx(0.1 * (1 + std::cos(M_PI * e / 4))).epsilon(1e-6));
        CHECK(seen[std::size_t(e)].has_eval);
        CHECK(seen[std::size_t(e)].seconds >= 0.0);
    }
    CHECK(seen[3].train_loss < 0.5 * seen[0].train_loss);
    const at::eval_result ev = at::evaluate(net, held);
    CHECK(ev.loss == seen[3].eval_loss);
    CHECK(ev.accuracy == seen[3].eval_accuracy);
    CHECK(ev.accuracy > 0.9);  // the clusters are well separated
    CHECK(r.epochs.size() == 4);
}

TEST_CASE("divergence and misfit data are errors that name the place and the fix") {
    const at::dataset d = toy_data(30);
    toy_net net{at::seed{1}};
    CHECK_THROWS_WITH_AS(at::train(net, d, at::sgd{.lr = 1e30f}, {.epochs = 3, .batch_size = 5}),
                         doctest::Contains("lower the learning rate"), at::error);
    toy_net fresh{at::seed{1}};
    std::string msg = "no error";
    try {
        at::train(fresh, d, at::sgd{.lr = 1e30f}, {.epochs = 3, .batch_size = 5});
    } catch (const at::error& e) {
        msg = e.what();
    }
    CHECK(msg.find("train: epoch 0, batch ") != std::string::npos);
    CHECK(msg.find("is not finite") != std::string::npos);
    at::network<at::shape{4, 1, 1}, at::sequential<at::dense<3>>> flat;
    CHECK_THROWS_WITH_AS(at::train(flat, d, at::sgd{}, {}), doctest::Contains("{1, 2, 2}"), at::error);
    at::network<at::shape{1, 2, 2}, at::sequential<at::flatten, at::dense<2>>> two;
    CHECK_THROWS_WITH_AS(at::train(two, d, at::sgd{}, {}), doctest::Contains("end the network in dense<3>"),
                         at::error);
    CHECK_THROWS_WITH_AS(at::evaluate(two, d), doctest::Contains("3 classes"), at::error);
}

TEST_CASE("a small MLP learns Fashion-MNIST: 2,000 samples, 2 epochs, > 70% on 1,000 test samples") {
    // Fails (with the loader's message naming the path and `apt-get install dataset-fashion-mnist`)
    // if the data set is not installed.
    const at::dataset train_set = at::subset(at::load_fashion_mnist(at::fashion_mnist_part::train), 0, 2000);
    const at::dataset test_set = at::subset(at::load_fashion_mnist(at::fashion_mnist_part::test), 0, 1000);
    using net_t = at::network<at::shape{1, 28, 28},
                              at::sequential<at::flatten, at::dense<64>, at::relu, at::dense<10>>>;
    net_t net{at::seed{1}};
    const at::eval_result before = at::evaluate(net, test_set);
    CHECK(before.loss == doctest::Approx(std::log(10.0)).epsilon(0.1));  // untrained: about ln 10
    const auto r = at::train(net, train_set, at::adam{.lr = 2e-3f},
                             {.epochs = 2, .batch_size = 32, .shuffle_seed = at::seed{1}, .eval = &test_set});
    const at::eval_result after = at::evaluate(net, test_set);
    MESSAGE("Fashion-MNIST test loss ", before.loss, " -> ", after.loss, ", accuracy ", before.accuracy, " -> ",
            after.accuracy, "; train loss per epoch ", r.epochs[0].train_loss, ", ", r.epochs[1].train_loss);
    CHECK(r.epochs[1].train_loss < r.epochs[0].train_loss);
    CHECK(after.loss < 0.4 * before.loss);
    CHECK(after.accuracy > 0.70);
    CHECK(after.accuracy == r.epochs[1].eval_accuracy);
}
