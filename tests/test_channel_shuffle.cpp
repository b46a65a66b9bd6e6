// channel_shuffle<G>: shape and cost, a hand-worked permutation (as torch.nn.ChannelShuffle: view as
// [G][C/G], transpose, flatten), the inverse property, backward as the inverse permutation, gradients
// against finite differences and the spelling.
#include <doctest/doctest.h>

#include <numeric>
#include <vector>

#include "archetype/graph/network.hpp"
#include "archetype/graph/sequential.hpp"
#include "archetype/layers/channel_shuffle.hpp"
#include "support/gradcheck.hpp"

namespace at = archetype;
using at::shape;

static_assert(at::channel_shuffle<3>::output(shape{6, 4, 5}) == shape{6, 4, 5});
static_assert(at::channel_shuffle<3>::cost_of(shape{6, 4, 5}) == at::cost{0, 0, 120});
// A channel count that is no multiple of G is rejected; the nearest positive multiple is expected.
static_assert(at::channel_shuffle<4>::expected_input(shape{8, 2, 3}) == shape{8, 2, 3});
static_assert(at::channel_shuffle<4>::expected_input(shape{7, 2, 3}) == shape{8, 2, 3});
static_assert(at::channel_shuffle<4>::expected_input(shape{5, 2, 3}) == shape{4, 2, 3});
static_assert(at::channel_shuffle<4>::expected_input(shape{6, 2, 3}) == shape{4, 2, 3});
static_assert(at::channel_shuffle<4>::expected_input(shape{2, 2, 3}) == shape{4, 2, 3});
static_assert(at::network<shape{6, 2, 2}, at::channel_shuffle<2>>::param_count == 0);

namespace {

// Runs network<In, D> forward on x (batch samples), returns y.
template <shape In, class D>
std::vector<float> run(const std::vector<float>& x, std::size_t batch) {
    at::network<In, D> net;
    const float* y = net.forward_raw(x.data(), batch, false);
    return {y, y + batch * at::network<In, D>::output_shape.size()};
}

// Sample b, channel k holds the plane {100b + 10k, 100b + 10k + 1} (H = 1, W = 2).
std::vector<float> labelled(std::size_t batch, int channels) {
    std::vector<float> x;
    for (std::size_t b = 0; b < batch; ++b)
        for (int k = 0; k < channels; ++k)
            for (int i = 0; i < 2; ++i) x.push_back(float(100 * int(b) + 10 * k + i));
    return x;
}

// The channel each output plane came from, per sample; checks that planes move whole.
std::vector<int> source_channels(const std::vector<float>& y, std::size_t batch, int channels) {
    std::vector<int> r;
    for (std::size_t b = 0; b < batch; ++b) {
        for (int k = 0; k < channels; ++k) {
            const float first = y[(b * std::size_t(channels) + std::size_t(k)) * 2];
            const float second = y[(b * std::size_t(channels) + std::size_t(k)) * 2 + 1];
            CHECK(second == first + 1.0f);
            CHECK(int(first) / 100 == int(b));
            r.push_back((int(first) % 100) / 10);
        }
    }
    return r;
}

}  // namespace

TEST_CASE("channel_shuffle permutes whole channels as view [G][C/G], transpose, flatten") {
    const auto x = labelled(2, 6);
    // G = 2: [[0 1 2] [3 4 5]] transposed -> 0 3 1 4 2 5
    CHECK(source_channels(run<shape{6, 1, 2}, at::channel_shuffle<2>>(x, 2), 2, 6) ==
          std::vector<int>{0, 3, 1, 4, 2, 5, 0, 3, 1, 4, 2, 5});
    // G = 3: [[0 1] [2 3] [4 5]] transposed -> 0 2 4 1 3 5
    CHECK(source_channels(run<shape{6, 1, 2}, at::channel_shuffle<3>>(x, 2), 2, 6) ==
          std::vector<int>{0, 2, 4, 1, 3, 5, 0, 2, 4, 1, 3, 5});
    // G = 1 and G = C leave the order alone.
    CHECK(run<shape{6, 1, 2}, at::channel_shuffle<1>>(x, 2) == x);
    CHECK(run<shape{6, 1, 2}, at::channel_shuffle<6>>(x, 2) == x);
}

TEST_CASE("channel_shuffle<C/G> undoes channel_shuffle<G>") {
    at::rng g(at::seed{5});
    std::vector<float> x(3 * 12 * 3 * 2);
    for (auto& v : x) v = g.uniform(-1.0f, 1.0f);
    using a = at::sequential<at::channel_shuffle<3>, at::channel_shuffle<4>>;
    using b = at::sequential<at::channel_shuffle<2>, at::channel_shuffle<6>>;
    CHECK(run<shape{12, 3, 2}, a>(x, 3) == x);
    CHECK(run<shape{12, 3, 2}, b>(x, 3) == x);
    // ... and a shuffle alone is not the identity here
    CHECK(run<shape{12, 3, 2}, at::channel_shuffle<3>>(x, 3) != x);
}

TEST_CASE("channel_shuffle backward is the inverse permutation of the gradient") {
    at::rng g(at::seed{9});
    std::vector<float> x(2 * 12 * 2 * 3), dy(x.size()), dx(x.size(), -7.0f);
    for (auto& v : x) v = g.uniform(-1.0f, 1.0f);
    for (auto& v : dy) v = g.uniform(-1.0f, 1.0f);
    at::network<shape{12, 2, 3}, at::channel_shuffle<4>> net;
    net.forward_raw(x.data(), 2, true);
    net.backward_raw(dy.data(), dx.data());
    CHECK(dx == run<shape{12, 2, 3}, at::channel_shuffle<3>>(dy, 2));
    at::test::check_gradients<shape{6, 2, 3}, at::channel_shuffle<2>>(2, 1e-5);  // observed 9.3e-7
}

TEST_CASE("channel_shuffle spells itself as C++") {
    CHECK(at::channel_shuffle<3>::spelling() == "archetype::channel_shuffle<3>");
}
