// Masked training: masked weights stay bit-exact 0 through SGD (momentum, Nesterov, weight decay), Adam
// and AdamW steps while the others train; an AGP schedule re-prunes during train(); errors.
#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <vector>

#include "archetype/compress/masked_training.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/graph/sequential.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"
#include "archetype/train/optimizer.hpp"
#include "archetype/train/trainer.hpp"

namespace at = archetype;
namespace pr = archetype::pruning;

// conv: 4 × 2·3·3 = 72 weights at 0 (+4 bias); dense<3>: 3 × 64 = 192 weights at 76 (+3 bias)
using net_t = at::network<at::shape{2, 4, 4}, at::sequential<at::conv2d<4, 3, 1, 1>, at::flatten, at::dense<3>>>;

namespace {

// `steps` steps of L = Σ r·y on fresh random batches (linear network: every weight gets a gradient).
template <class Opt>
void run(net_t& net, Opt& opt, int steps) {
    at::rng g(at::seed{11});
    std::vector<float> x(8 * 32), dy(8 * 3);
    for (int s = 0; s < steps; ++s) {
        for (auto& v : x) v = g.uniform(-1.0f, 1.0f);
        for (auto& v : dy) v = g.uniform(-1.0f, 1.0f);
        net.forward_raw(x.data(), 8, true);
        net.zero_grad();
        net.backward_raw(dy.data());
        opt.step(net.params(), net.grads(), opt.lr);
    }
}

template <class Opt>
void check_mask_holds(Opt inner) {
    net_t net{at::seed{5}};
    auto mask = pr::mask::of<net_t>();
    pr::prune<pr::magnitude>(net, mask, 0.5);
    const std::vector<float> start(net.params().begin(), net.params().end());

    net_t control = net;  // the inner optimizer alone moves the pruned weights: the wrapper must matter
    Opt plain = inner;
    run(control, plain, 10);
    std::size_t moved = 0;
    for (std::size_t i = 0; i < start.size(); ++i) moved += !mask.kept(i) && control.params()[i] != 0.0f;
    CHECK(moved == 36 + 96);

    pr::masked_optimizer opt{inner, mask};
    run(net, opt, 10);
    CHECK(opt.steps == 10);
    std::size_t zero_bits = 0, changed = 0, kept = 0;
    for (std::size_t i = 0; i < start.size(); ++i) {
        if (!mask.kept(i)) {
            zero_bits += std::bit_cast<std::uint32_t>(net.params()[i]) == 0u;
        } else {
            ++kept;
            changed += net.params()[i] != start[i];
        }
    }
    CHECK(zero_bits == 36 + 96);  // +0.0f exactly, every pruned weight
    CHECK(changed == kept);       // every other parameter (weights and biases) trained
    CHECK(kept == net_t::param_count - 132);
}

}  // namespace

TEST_CASE("masked weights stay bit-exact zero and unmasked ones train, whatever the optimizer") {
    SUBCASE("sgd with momentum and weight decay") { check_mask_holds(at::sgd{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f}); }
    SUBCASE("sgd Nesterov") {
        check_mask_holds(at::sgd{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.01f, .nesterov = true});
    }
    SUBCASE("adam with L2 weight decay") { check_mask_holds(at::adam{.lr = 0.01f, .weight_decay = 0.01f}); }
    SUBCASE("adamw") { check_mask_holds(at::adamw{.lr = 0.01f}); }
}

TEST_CASE("an AGP schedule re-prunes at its update steps during training") {
    net_t net{at::seed{6}};
    pr::masked_optimizer opt{at::sgd{.lr = 0.02f, .momentum = 0.9f}, pr::mask::of<net_t>()};
    opt.prune_with<pr::magnitude>(pr::sparsity_schedule::gradual(0.0, 0.75, 2, 3, 2));  // updates at 2, 4, 6, 8
    // round(s·72) and round(s·192) with s = 0, 0.75(1 − (2/3)³) = 0.5278, 0.75(1 − (1/3)³) = 0.7222, 0.75
    const std::size_t conv[] = {0, 0, 0, 0, 38, 38, 52, 52, 54, 54, 54};
    const std::size_t fc[] = {0, 0, 0, 0, 101, 101, 139, 139, 144, 144, 144};
    for (std::size_t t = 0; t < 11; ++t) {
        run(net, opt, 1);
        const auto r = opt.mask.report(net.params());
        CHECK(r.layers[0].pruned == conv[t]);
        CHECK(r.layers[1].pruned == fc[t]);
        CHECK(r.layers[0].zeros == conv[t]);
        CHECK(r.layers[1].zeros == fc[t]);
    }
}

TEST_CASE("masked_optimizer works in archetype::train, deterministically") {
    at::dataset data;
    data.sample = net_t::input_shape;
    data.classes = 3;
    data.images.resize(40 * 32);
    at::rng g(at::seed{3});
    for (std::size_t i = 0; i < data.images.size(); ++i) data.images.data()[i] = g.uniform(-1.0f, 1.0f);
    for (int i = 0; i < 40; ++i) data.labels.push_back(i % 3);
    auto train_once = [&] {
        net_t net{at::seed{8}};
        pr::masked_optimizer opt{at::adam{.lr = 0.01f}, pr::mask::of<net_t>()};
        opt.prune_with<pr::global_magnitude>(pr::sparsity_schedule::iterative(0.6, 2, 0, 5));
        at::train_options o;
        o.epochs = 2;
        o.batch_size = 8;  // 5 steps per epoch: prunes to 0.3 at step 0, to 0.6 at step 5
        const auto rep = at::train(net, data, opt, o);
        CHECK(rep.steps == 10);
        CHECK(opt.steps == 10);
        const auto r = opt.mask.report(net.params());
        CHECK(r.pruned == 158);  // round(0.6 · 264) = round(158.4)
        CHECK(r.zeros == 158);
        return std::vector<float>(net.params().begin(), net.params().end());
    };
    CHECK(train_once() == train_once());
}

TEST_CASE("a mask of another network, or an unknown leaf for the schedule, is an error") {
    net_t net{at::seed{1}};
    using small_t = at::network<at::shape{4, 1, 1}, at::dense<2>>;
    pr::masked_optimizer opt{at::sgd{}, pr::mask::of<small_t>()};
    CHECK_THROWS_WITH_AS(run(net, opt, 1), doctest::Contains("made for 10 parameters"), at::error);
    pr::masked_optimizer ok{at::sgd{}, pr::mask::of<net_t>()};
    CHECK_THROWS_WITH_AS(ok.prune_with<pr::magnitude>(pr::sparsity_schedule::one_shot(0.5), {1}),
                         doctest::Contains("leaf 1 has no prunable weights"), at::error);
}
