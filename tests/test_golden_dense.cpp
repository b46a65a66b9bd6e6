// Golden values: dense against PyTorch nn.Linear (tests/data/golden/dense, made by
// tests/reference/generate_golden.py). Forward, input gradient and parameter gradients must agree within
// 1e-4 relative to the largest magnitude of the reference (the reference is float64 rounded to float32).
#include <doctest/doctest.h>

#include "archetype/layers/dense.hpp"
#include "support/golden.hpp"

namespace at = archetype;
using at::shape;
using at::test::check_golden_layer;

TEST_CASE("dense matches nn.Linear: forward, dx, dweight, dbias") {
    check_golden_layer<shape{5, 1, 1}, at::dense<3>>("dense/in5_out3_b1");
    check_golden_layer<shape{17, 1, 1}, at::dense<8, false>>("dense/in17_out8_nobias_b3");
    check_golden_layer<shape{64, 1, 1}, at::dense<10>>("dense/in64_out10_b4");
    check_golden_layer<shape{1, 1, 1}, at::dense<1>>("dense/in1_out1_b2");
    check_golden_layer<shape{200, 1, 1}, at::dense<2>>("dense/in200_out2_b2");
}

TEST_CASE("a golden case that does not describe the tested type is refused") {
    // the loader's own checks: a wrong type or shape must not be compared silently
    const auto c = at::test::load_golden("dense/in5_out3_b1");
    CHECK(c.get("type") == at::dense<3>::spelling());
    CHECK(c.get("type") != at::dense<3, false>::spelling());
    CHECK(c.shape_of("in") == shape{5, 1, 1});
    CHECK(c.tensor("params").size() == 5 * 3 + 3);
    CHECK_THROWS_AS(at::test::load_golden("dense/no_such_case"), at::error);
}
