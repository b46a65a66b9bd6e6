// Golden values: batch_norm against PyTorch nn.BatchNorm2d(C) (eps 1e-5, momentum 0.1), made by
// tests/reference/generate_golden.py (tests/data/golden/batchnorm). γ, β and the running statistics
// are random and non-trivial. Training mode: y with the batch statistics, dx through the batch mean and
// variance, dγ, dβ, and the running statistics after the update (unbiased variance). Eval mode: y with
// the running statistics, the affine dx, dγ, dβ, and unchanged running statistics. Every array must
// agree within 1e-4 relative to the largest magnitude of the reference.
#include <doctest/doctest.h>

#include "archetype/layers/batchnorm.hpp"
#include "support/golden.hpp"

namespace at = archetype;
using at::shape;
using at::test::check_golden_layer;

TEST_CASE("batch_norm in training mode matches nn.BatchNorm2d.train()") {
    check_golden_layer<shape{3, 7, 9}, at::batch_norm>("batchnorm/train_3x7x9_b2");
    check_golden_layer<shape{4, 5, 5}, at::batch_norm>("batchnorm/train_4x5x5_b1");
    check_golden_layer<shape{6, 1, 1}, at::batch_norm>("batchnorm/train_flat6_b4");
    check_golden_layer<shape{5, 1, 1}, at::batch_norm>("batchnorm/train_flat5_b3");
    // Two values per channel: x̂ = ±s with s² = d²/(d² + eps) ≈ 1, and dx ∝ (dy₁ − dy₂)(1 − s²) is a
    // cancellation about 250 times smaller than the O(1) terms it is computed from, so float32 rounding
    // of those terms shows up 250 times larger relative to max |dx| (measured 9e-5): dx gets 1e-3.
    check_golden_layer<shape{5, 1, 1}, at::batch_norm>("batchnorm/train_flat5_b2", {.dx = 1e-3});
}

TEST_CASE("batch_norm in eval mode matches nn.BatchNorm2d.eval()") {
    check_golden_layer<shape{3, 7, 9}, at::batch_norm>("batchnorm/eval_3x7x9_b2");
    check_golden_layer<shape{6, 1, 1}, at::batch_norm>("batchnorm/eval_flat6_b3");
}
