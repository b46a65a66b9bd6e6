// Training-time augmentation (train/dataset.hpp): shift_and_flip against hand-made images, and a
// shuffled batch_loader with augmentation: every sample is its source shifted within ±shift (zeros
// shifted in) and mirrored or not, both outcomes occur, the draws follow (seed, epoch, position) only,
// no augmentation gives the plain batches, and a bad shift throws archetype::error.
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
