// Golden values: archetype::cross_entropy against torch.nn.functional.cross_entropy (mean over the
// batch; two cases with label_smoothing) and its gradient d(mean loss)/d(logits), made by
// tests/reference/generate_golden.py (tests/data/golden/loss). The loss must agree within 1e-6 relative
// (it is summed in double) and dlogits within 1e-4 relative to max |dlogits|. One case has logits in
// [-300, 300], where exp overflows float32 unless each row's maximum is subtracted first.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "archetype/train/loss.hpp"
#include "support/golden.hpp"

namespace at = archetype;
using at::test::load_golden;
using at::test::relative_error;

namespace {

void check_cross_entropy(const std::string& name) {
    CAPTURE(name);
    const auto c = load_golden(name);
    REQUIRE(c.get("type") == "archetype::cross_entropy");
    const std::size_t n = c.integer("batch"), k = c.integer("classes");
    const auto& logits = c.tensor("logits");
    REQUIRE(logits.size() == n * k);
    std::vector<int> labels;
    for (float l : c.tensor("labels")) labels.push_back(int(l));
    REQUIRE(labels.size() == n);

    const float eps = c.config.count("label_smoothing") ? std::stof(c.get("label_smoothing")) : 0.0f;

    std::vector<float> dlogits(n * k, -1.0f);
    const double loss = at::cross_entropy(logits.data(), labels.data(), n, k, dlogits.data(), eps);
    const double want = c.tensor("loss").at(0);
    CHECK(std::abs(loss - want) <= 1e-6 * std::abs(want));
    CHECK(relative_error(dlogits, c.tensor("dlogits")) <= 1e-4);
    // the loss alone, without a gradient buffer, is the same number
    CHECK(at::cross_entropy(logits.data(), labels.data(), n, k, nullptr, eps) == loss);
}

}  // namespace

TEST_CASE("cross_entropy matches F.cross_entropy: mean loss and dlogits") {
    check_cross_entropy("loss/b1_c10");
    check_cross_entropy("loss/b4_c3");
    check_cross_entropy("loss/b3_c7_large");
    check_cross_entropy("loss/b2_c2");
    check_cross_entropy("loss/b3_c5_huge");
}

TEST_CASE("cross_entropy with label smoothing matches F.cross_entropy(label_smoothing=ε)") {
    check_cross_entropy("loss/b4_c10_smooth01");
    check_cross_entropy("loss/b3_c7_smooth03_large");
}
