// Compile-time budget: one translation unit that instantiates the three built-in spaces — NAS-Bench-201,
// NAS-Bench-Macro and the Once-for-All MobileNetV3 space — builds each network and runs one forward
// pass. Its compile time and memory are measured and recorded (the budget: <= 60 s, <= 2 GB);
// measure with `/usr/bin/time -v` on this file's command from `ninja -t commands`. Defining
// ARCHETYPE_BUDGET_NO_OFA leaves the OFA space out, to measure its share.
#include <doctest/doctest.h>

#include <cmath>

#include "archetype/space/nas_bench_201.hpp"
#include "archetype/space/nas_bench_macro.hpp"
#ifndef ARCHETYPE_BUDGET_NO_OFA
#include "archetype/space/once_for_all.hpp"
#endif

namespace at = archetype;

template <class Space>
void forward_once(std::uint64_t seed, std::size_t classes) {
    typename Space::network_type net{at::seed{seed}};
    constexpr at::shape in = Space::network_type::input_shape;
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({2, std::size_t(in.c), std::size_t(in.h), std::size_t(in.w)});
    at::rng r{at::seed{seed + 1}};
    for (auto& v : x) v = r.uniform(-1.0f, 1.0f);
    const auto g = Space::sample(r);
    Space::apply(net, g);
    const auto y = net.forward(x);
    REQUIRE(y.shape()[0] == 2);
    REQUIRE(y.shape()[1] == classes);
    for (float v : y) CHECK(std::isfinite(v));
    CHECK(y(0, 0) != y(1, 0));  // the two inputs differ, so do their logits
}

TEST_CASE("NAS-Bench-201 (15,625 cells) builds and runs") {
    static_assert(at::nas_bench_201<>::cardinality == at::big_count{15625});
    forward_once<at::nas_bench_201<>>(1, 10);
}

TEST_CASE("NAS-Bench-Macro (6,561 networks) builds and runs") {
    static_assert(at::nas_bench_macro::cardinality == at::big_count{6561});
    forward_once<at::nas_bench_macro>(2, 10);
}

#ifndef ARCHETYPE_BUDGET_NO_OFA
TEST_CASE("Once-for-All MobileNetV3 (7371^5 architectures per resolution and width) builds and runs") {
    using ofa = at::ofa_space<128, 100, 1000>;  // OFA's smallest resolution, width 1.0, ImageNet classes
    static_assert(ofa::decision_count == 45);
    CHECK(at::ofa::architectures_per_network.str() == "21758655492572485851");
    forward_once<ofa>(3, 1000);
}
#endif
