// A user's program: a fixed network type with a compile-time MAC budget, one forward pass checked
// against the same arithmetic done by hand, and a run-time shape error caught as archetype::error.
// Tolerance of the forward check: 1e-4 absolute on outputs of magnitude ~0.5 (float sums of 784 terms).
// Prints lines that tests/consumer/run.cmake checks.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <archetype/graph/network.hpp>
#include <archetype/graph/sequential.hpp>
#include <archetype/layers/dense.hpp>
#include <archetype/layers/identity.hpp>

namespace at = archetype;

using classifier = at::network<at::shape{1, 28, 28}, at::sequential<at::flatten, at::dense<10>>>;
static_assert(at::macs_v<classifier> == 28 * 28 * 10);
static_assert(at::macs_v<classifier> < 10'000, "over the MAC budget");
static_assert(at::params_v<classifier> == 28 * 28 * 10 + 10);
static_assert(classifier::output_shape == at::shape{10, 1, 1});

int main() {
    classifier net{at::seed{7}};
    constexpr std::size_t batch = 2, in = 28 * 28, out = 10;
    auto x = xt::xtensor<float, 4>::from_shape({batch, 1, 28, 28});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float(int(i % 13) - 6) / 8.0f;

    const auto y = net.forward(x);
    const auto w = net.params();  // weight [out][in], then bias [out]
    double max_error = 0;
    for (std::size_t n = 0; n < batch; ++n) {
        for (std::size_t o = 0; o < out; ++o) {
            double expect = w[out * in + o];
            for (std::size_t i = 0; i < in; ++i) expect += double(w[o * in + i]) * x.data()[n * in + i];
            max_error = std::max(max_error, std::abs(expect - double(y(n, o))));
        }
    }
    std::printf("consumer: macs=%zu params=%zu output=%s\n", at::macs_v<classifier>, at::params_v<classifier>,
                classifier::output_shape.str().c_str());
    std::printf("consumer: forward max abs error %.2e\n", max_error);

    bool caught = false;
    try {
        net.forward(xt::xtensor<float, 4>::from_shape({1, 1, 28, 27}));
    } catch (const at::error& e) {
        caught = true;
        std::printf("consumer: caught archetype::error: %s\n", e.what());
    }
    const bool ok = y.shape()[0] == batch && y.shape()[1] == out && max_error < 1e-4 && caught;
    std::printf("consumer: %s\n", ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
