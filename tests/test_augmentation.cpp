// Training-time augmentation (train/dataset.hpp): shift_and_flip against hand-made images, and a
// shuffled batch_loader with augmentation: every sample is its source shifted within ±shift (zeros
// shifted in) and mirrored or not, both outcomes occur, the draws follow (seed, epoch, position) only,
// no augmentation gives the plain batches, a bad shift throws archetype::error; erasing zeroes one
// rectangle (2–40% of the image) in about `erase` of the samples and leaves the other draws unchanged.
#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "archetype/train/dataset.hpp"

namespace at = archetype;
using at::shape;

namespace {

// n samples of shape {2, 5, 6}, pixel values unique and nonzero, label = index.
at::dataset make_images(std::size_t n) {
    at::dataset d;
    d.sample = shape{2, 5, 6};
    d.classes = int(n);
    d.images.resize(n * d.sample.size());
    for (std::size_t i = 0; i < d.images.size(); ++i) d.images[i] = float(i + 1);
    for (std::size_t i = 0; i < n; ++i) d.labels.push_back(int(i));
    return d;
}

struct transform {
    int dy, dx;
    bool flip;
};

// Which (dy, dx, flip) within ±shift turns src into got; none → {99, 99, false}.
transform find_transform(const float* src, const float* got, const shape& s, int shift) {
    std::vector<float> t(s.size());
    for (int flip = 0; flip < 2; ++flip)
        for (int dy = -shift; dy <= shift; ++dy)
            for (int dx = -shift; dx <= shift; ++dx) {
                at::shift_and_flip(src, t.data(), s, dy, dx, flip == 1);
                if (std::equal(t.begin(), t.end(), got)) return {dy, dx, flip == 1};
            }
    return {99, 99, false};
}

}  // namespace

TEST_CASE("shift_and_flip moves pixels by (dy, dx), mirrors, and shifts zeros in") {
    const shape s{1, 2, 3};
    const std::vector<float> x{1, 2, 3,  //
                               4, 5, 6};
    std::vector<float> y(6);
    at::shift_and_flip(x.data(), y.data(), s, 0, 0, false);
    CHECK(y == x);
    at::shift_and_flip(x.data(), y.data(), s, 0, 0, true);
    CHECK(y == std::vector<float>{3, 2, 1, 6, 5, 4});
    at::shift_and_flip(x.data(), y.data(), s, 1, 0, false);  // row h reads row h + 1
    CHECK(y == std::vector<float>{4, 5, 6, 0, 0, 0});
    at::shift_and_flip(x.data(), y.data(), s, 0, -1, false);  // column w reads column w − 1
    CHECK(y == std::vector<float>{0, 1, 2, 0, 4, 5});
    at::shift_and_flip(x.data(), y.data(), s, -1, 1, true);  // w reads column (2 − w) + 1 of row h − 1
    CHECK(y == std::vector<float>{0, 0, 0, 0, 3, 2});
}

TEST_CASE("an augmenting loader shifts within ±shift and mirrors about half the samples, by seed") {
    const at::dataset d = make_images(200);
    const int shift = 2;
    at::batch_loader loader(d, 32, at::seed{7}, 3, {.shift = shift, .hflip = true});
    std::size_t flips = 0, seen = 0;
    std::set<std::pair<int, int>> offsets;
    std::vector<float> first_pass;
    for (std::size_t i = 0; i < loader.size(); ++i) {
        const at::batch b = loader[i];
        for (std::size_t j = 0; j < b.size; ++j) {
            const float* got = b.x + j * d.sample.size();
            const transform t = find_transform(d.image(std::size_t(b.labels[j])), got, d.sample, shift);
            REQUIRE(t.dy != 99);  // some transform within range explains the sample
            flips += t.flip;
            offsets.insert({t.dy, t.dx});
            ++seen;
        }
        first_pass.insert(first_pass.end(), b.x, b.x + b.size * d.sample.size());
    }
    CHECK(seen == 200);
    CHECK(flips > 60);
    CHECK(flips < 140);
    CHECK(offsets.size() == 25);  // every offset in [−2, 2]² occurs among 200 samples

    // The same seed and epoch give the same batches, in any access order; another epoch differs.
    at::batch_loader again(d, 32, at::seed{7}, 3, {.shift = shift, .hflip = true});
    std::vector<float> second_pass(first_pass.size());
    for (std::size_t i = loader.size(); i-- > 0;) {
        const at::batch b = again[i];
        std::copy(b.x, b.x + b.size * d.sample.size(), second_pass.begin() + std::ptrdiff_t(i * 32 * d.sample.size()));
    }
    CHECK(second_pass == first_pass);
    at::batch_loader other(d, 32, at::seed{7}, 4, {.shift = shift, .hflip = true});
    const at::batch b0 = loader[0], c0 = other[0];
    CHECK(!std::equal(b0.x, b0.x + 32 * d.sample.size(), c0.x));
}

TEST_CASE("no augmentation gives the plain shuffled batches; a shift the image cannot take throws") {
    const at::dataset d = make_images(40);
    at::batch_loader plain(d, 16, at::seed{3}, 1), none(d, 16, at::seed{3}, 1, {});
    for (std::size_t i = 0; i < plain.size(); ++i) {
        const at::batch a = plain[i];
        std::vector<float> xa(a.x, a.x + a.size * d.sample.size());
        const at::batch b = none[i];
        CHECK(std::equal(xa.begin(), xa.end(), b.x));
        for (std::size_t j = 0; j < a.size; ++j)
            CHECK(std::equal(d.image(std::size_t(a.labels[j])), d.image(std::size_t(a.labels[j])) + d.sample.size(),
                             xa.begin() + std::ptrdiff_t(j * d.sample.size())));
    }
    CHECK_THROWS_AS(at::batch_loader(d, 16, at::seed{3}, 1, {.shift = 5}), at::error);  // H = 5
    CHECK_THROWS_AS(at::batch_loader(d, 16, at::seed{3}, 1, {.shift = -1}), at::error);
    CHECK_NOTHROW(at::batch_loader(d, 16, at::seed{3}, 1, {.shift = 4}));
}

TEST_CASE("erase zeroes one rectangle of every channel") {
    const shape s{2, 3, 4};
    std::vector<float> x(s.size(), 1.0f);
    at::erase(x.data(), s, {.top = 1, .left = 2, .h = 2, .w = 1});  // rows 1–2, column 2
    for (int c = 0; c < 2; ++c)
        for (int h = 0; h < 3; ++h)
            for (int w = 0; w < 4; ++w)
                CHECK(x[std::size_t((c * 3 + h) * 4 + w)] == ((h >= 1 && w == 2) ? 0.0f : 1.0f));
}

TEST_CASE("erasing boxes: 2–40% of the image, aspect ratio within [0.3, 3.3] up to rounding, inside") {
    const shape s{1, 28, 28};
    at::rng g(at::seed{5});
    double covered = 0.0;
    for (int i = 0; i < 2000; ++i) {
        const at::erase_box b = at::draw_erase_box(g, s);
        REQUIRE(b.h >= 1);  // on 28×28 a box that fits is found
        CHECK(b.top >= 0);
        CHECK(b.left >= 0);
        CHECK(b.top + b.h <= 28);
        CHECK(b.left + b.w <= 28);
        const double area = double(b.h * b.w) / (28.0 * 28.0), ratio = double(b.h) / b.w;
        CHECK(area >= 0.015);  // 2% of 784 = 15.7 pixels, less a rounding of each side
        CHECK(area <= 0.45);
        CHECK(ratio >= 0.3 * 0.75);
        CHECK(ratio <= 3.3 / 0.75);
        covered += area;
    }
    CHECK(covered / 2000 > 0.15);  // the mean of U(0.02, 0.4) is 0.21; boxes too tall or wide are redrawn
    CHECK(covered / 2000 < 0.25);
}

TEST_CASE("a loader with erase: shift and flip draws unchanged, one zero rectangle in about erase of the samples") {
    const at::dataset d = make_images(200);  // pixel values are all nonzero
    at::batch_loader plain(d, 50, at::seed{9}, 2, {.shift = 1, .hflip = true});
    at::batch_loader erasing(d, 50, at::seed{9}, 2, {.shift = 1, .hflip = true, .erase = 0.5f});
    std::size_t erased = 0;
    for (std::size_t i = 0; i < plain.size(); ++i) {
        const at::batch a = plain[i];
        const std::vector<float> xa(a.x, a.x + a.size * d.sample.size());
        const at::batch b = erasing[i];
        for (std::size_t j = 0; j < a.size; ++j) {
            const float* p = xa.data() + j * d.sample.size();
            const float* q = b.x + j * d.sample.size();
            std::size_t changed = 0;
            for (std::size_t k = 0; k < d.sample.size(); ++k) {
                CHECK((q[k] == p[k] || q[k] == 0.0f));  // the same transform, or erased to 0
                changed += q[k] != p[k];
            }
            erased += changed > 0;
        }
    }
    CHECK(erased > 70);  // about 100 of 200 (a box over shifted-in zeros only may change nothing)
    CHECK(erased < 130);
    CHECK_THROWS_AS(at::batch_loader(d, 16, at::seed{3}, 1, {.erase = 1.5f}), at::error);
    CHECK_THROWS_AS(at::batch_loader(d, 16, at::seed{3}, 1, {.erase = -0.1f}), at::error);
}
