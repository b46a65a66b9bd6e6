// IDX files (plain and gzip): round trips and every malformed-file error, generated at run time in a
// temporary directory; datasets: scaling, subsets, seeded splits, batches; the installed Fashion-MNIST.
#include <doctest/doctest.h>

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include <unistd.h>

#include "support/temp_dir.hpp"
#include "archetype/train/dataset.hpp"
#include "archetype/train/idx.hpp"

namespace at = archetype;
namespace fs = std::filesystem;
using bytes = std::vector<unsigned char>;

namespace {
using test_support::temp_dir;

void put32(bytes& b, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}
bytes idx_images_bytes(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
    bytes b;
    put32(b, 0x803);
    put32(b, n);
    put32(b, rows);
    put32(b, cols);
    for (std::uint32_t i = 0; i < n * rows * cols; ++i) b.push_back(static_cast<unsigned char>(i * 7 % 256));
    return b;
}
bytes idx_labels_bytes(const std::vector<unsigned char>& labels) {
    bytes b;
    put32(b, 0x801);
    put32(b, std::uint32_t(labels.size()));
    b.insert(b.end(), labels.begin(), labels.end());
    return b;
}
void write(const fs::path& p, const bytes& b) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
bytes gzip(const bytes& b) {
    z_stream zs{};
    REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    bytes out(deflateBound(&zs, uLong(b.size())) + 64);
    zs.next_in = const_cast<unsigned char*>(b.data());
    zs.avail_in = uInt(b.size());
    zs.next_out = out.data();
    zs.avail_out = uInt(out.size());
    REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}
bytes cut(bytes b, std::size_t drop) {
    b.resize(b.size() - drop);
    return b;
}

}  // namespace

TEST_CASE("IDX images and labels round-trip, plain and gzip (including multi-member gzip)") {
    temp_dir dir("idx");
    const bytes im = idx_images_bytes(3, 4, 5);
    write(dir / "im", im);
    write(dir / "im.gz", gzip(im));
    for (const char* name : {"im", "im.gz"}) {
        const auto r = at::read_idx_images(dir / name);
        CHECK(r.count == 3);
        CHECK(r.rows == 4);
        CHECK(r.cols == 5);
        CHECK(r.pixels == bytes(im.begin() + 16, im.end()));
    }
    const bytes lb = idx_labels_bytes({1, 0, 9});
    bytes two = gzip(bytes(lb.begin(), lb.begin() + 5));
    const bytes rest = gzip(bytes(lb.begin() + 5, lb.end()));
    two.insert(two.end(), rest.begin(), rest.end());
    write(dir / "lb.gz", two);
    CHECK(at::read_idx_labels(dir / "lb.gz") == std::vector<std::uint8_t>{1, 0, 9});
}

TEST_CASE("malformed plain IDX files: each error names the file and the problem") {
    temp_dir dir("idx");
    const bytes im = idx_images_bytes(2, 3, 3);
    auto check_error = [&](const bytes& b, const char* what, bool images = true) {
        const fs::path p = dir / "bad";
        write(p, b);
        if (images) {
            CHECK_THROWS_WITH_AS(at::read_idx_images(p), doctest::Contains(what), at::error);
            CHECK_THROWS_WITH_AS(at::read_idx_images(p), doctest::Contains(p.string().c_str()), at::error);
        } else {
            CHECK_THROWS_WITH_AS(at::read_idx_labels(p), doctest::Contains(what), at::error);
        }
    };
    check_error(cut(im, 1), "is truncated: its header announces 18 data bytes but it holds 17");
    check_error(cut(im, im.size() - 10), "header alone needs 16");
    check_error(cut(im, im.size() - 2), "too few for an IDX header");
    bytes longer = im;
    longer.push_back(0);
    check_error(longer, "1 bytes of trailing data");
    bytes wrong = im;
    wrong[3] = 0x02;
    check_error(wrong, "magic 0x00000802");
    check_error(idx_labels_bytes({1, 2}), "images and labels swapped");
    check_error(im, "images and labels swapped", false);
    bytes zero = idx_images_bytes(2, 3, 3);
    zero[11] = 0;  // rows = 0
    check_error(zero, "dimension 1 of the header is zero");
    CHECK_THROWS_WITH_AS(at::read_idx_images(dir / "missing"), doctest::Contains("No such file"), at::error);
}

TEST_CASE("malformed gzip IDX files: truncated stream, damaged data, trailing bytes, bad content") {
    temp_dir dir("idx");
    const bytes im = idx_images_bytes(20, 8, 8);
    const bytes gz = gzip(im);
    auto expect = [&](const bytes& b, const char* what) {
        const fs::path p = dir / "bad.gz";
        write(p, b);
        CHECK_THROWS_WITH_AS(at::read_idx_images(p), doctest::Contains(what), at::error);
        CHECK_THROWS_WITH_AS(at::read_idx_images(p), doctest::Contains(p.string().c_str()), at::error);
    };
    expect(cut(gz, gz.size() / 2), "truncated: the gzip stream ends");
    expect(cut(gz, 3), "truncated: the gzip stream ends");  // cut inside the CRC/length trailer
    bytes damaged = gz;
    damaged[damaged.size() - 6] ^= 0x10;  // the stored CRC-32
    expect(damaged, "corrupted");
    bytes trailing = gz;
    trailing.push_back('x');
    expect(trailing, "1 bytes of trailing data after the gzip stream");
    expect(gzip(cut(im, 5)), "is truncated: its header announces");
    expect(gzip(idx_labels_bytes({3})), "magic 0x00000801");
}

TEST_CASE("an IDX pair becomes a dataset scaled to [0, 1]; a count mismatch names both files") {
    temp_dir dir("idx");
    bytes im;
    put32(im, 0x803);
    put32(im, 2);
    put32(im, 1);
    put32(im, 2);
    im.insert(im.end(), {0, 51, 255, 128});
    write(dir / "im", im);
    write(dir / "lb", idx_labels_bytes({4, 1}));
    const at::dataset d = at::load_idx(dir / "im", dir / "lb");
    CHECK(d.size() == 2);
    CHECK(d.sample == at::shape{1, 1, 2});
    CHECK(d.classes == 5);
    CHECK(d.images[0] == 0.0f);
    CHECK(d.images[1] == 0.2f);
    CHECK(d.images[2] == 1.0f);
    CHECK(d.images[3] == 128.0f / 255.0f);
    CHECK(d.labels == std::vector<int>{4, 1});
    write(dir / "lb3", idx_labels_bytes({4, 1, 0}));
    CHECK_THROWS_WITH_AS(at::load_idx(dir / "im", dir / "lb3"), doctest::Contains("holds 2 images"), at::error);
    CHECK_THROWS_WITH_AS(at::load_idx(dir / "im", dir / "lb3"), doctest::Contains("holds 3 labels"), at::error);
    CHECK_THROWS_WITH_AS(at::load_idx(dir / "im", dir / "lb3"), doctest::Contains((dir / "lb3").string().c_str()),
                         at::error);
}

namespace {
at::dataset numbered(std::size_t n) {  // sample i holds the value i, label i % 3
    at::dataset d;
    d.sample = {1, 1, 2};
    d.classes = 3;
    d.images.resize(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        d.images[2 * i] = d.images[2 * i + 1] = float(i);
        d.labels.push_back(int(i % 3));
    }
    return d;
}
}  // namespace

TEST_CASE("subset, seeded split and batches") {
    const at::dataset d = numbered(10);
    const at::dataset s = at::subset(d, 3, 4);
    REQUIRE(s.size() == 4);
    CHECK(s.images[0] == 3.0f);
    CHECK(s.labels[3] == 0);  // sample 6
    CHECK_THROWS_AS(at::subset(d, 8, 3), at::error);

    const auto a = at::split_off(d, 3, at::seed{1}), b = at::split_off(d, 3, at::seed{1}),
               c = at::split_off(d, 3, at::seed{2});
    REQUIRE(a.validation.size() == 3);
    REQUIRE(a.train.size() == 7);
    std::vector<float> all;
    for (const auto* part : {&a.train, &a.validation})
        for (std::size_t i = 0; i < part->size(); ++i) all.push_back(part->image(i)[0]);
    std::sort(all.begin(), all.end());
    for (std::size_t i = 0; i < 10; ++i) CHECK(all[i] == float(i));  // a partition of the samples
    CHECK(a.validation.labels == b.validation.labels);
    CHECK(std::equal(a.validation.images.span().begin(), a.validation.images.span().end(),
                     b.validation.images.span().begin()));
    CHECK(!std::equal(a.validation.images.span().begin(), a.validation.images.span().end(),
                      c.validation.images.span().begin()));
    CHECK(std::is_sorted(a.train.images.span().begin(), a.train.images.span().end()));  // original order kept

    at::batch_loader in_order(d, 4);
    REQUIRE(in_order.size() == 3);
    CHECK(in_order[2].size == 2);  // the last, partial batch is kept
    CHECK(in_order[2].x[0] == 8.0f);
    at::batch_loader e0(d, 4, at::seed{7}, 0), e0b(d, 4, at::seed{7}, 0), e1(d, 4, at::seed{7}, 1);
    CHECK(std::equal(e0.order().begin(), e0.order().end(), e0b.order().begin()));
    CHECK(!std::equal(e0.order().begin(), e0.order().end(), e1.order().begin()));
    std::vector<std::size_t> seen;
    for (std::size_t i = 0; i < e0.size(); ++i) {
        const at::batch bt = e0[i];
        for (std::size_t j = 0; j < bt.size; ++j) {
            const std::size_t k = e0.order()[i * 4 + j];
            CHECK(bt.x[2 * j] == float(k));
            CHECK(bt.labels[j] == int(k % 3));
            seen.push_back(std::size_t(bt.x[2 * j]));
        }
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK_THROWS_AS(at::batch_loader(d, 0), at::error);
}

TEST_CASE("Fashion-MNIST: the installed test set, and a clear error for a missing directory") {
    const at::dataset t = at::load_fashion_mnist(at::fashion_mnist_part::test);
    REQUIRE(t.size() == 10000);
    CHECK(t.sample == at::shape{1, 28, 28});
    CHECK(t.classes == 10);
    std::vector<int> per_class(10);
    for (int l : t.labels) ++per_class[std::size_t(l)];
    CHECK(per_class == std::vector<int>(10, 1000));  // the test set is balanced
    const auto [lo, hi] = std::minmax_element(t.images.span().begin(), t.images.span().end());
    CHECK(*lo == 0.0f);
    CHECK(*hi == 1.0f);
    CHECK_THROWS_WITH_AS(at::load_fashion_mnist(at::fashion_mnist_part::test, "/nonexistent/fmnist"),
                         doctest::Contains("'/nonexistent/fmnist' does not exist"), at::error);
    CHECK_THROWS_WITH_AS(at::load_fashion_mnist(at::fashion_mnist_part::test, "/nonexistent/fmnist"),
                         doctest::Contains("apt-get install dataset-fashion-mnist"), at::error);
    temp_dir dir("idx");
    CHECK_THROWS_WITH_AS(at::load_fashion_mnist(at::fashion_mnist_part::train, dir.path),
                         doctest::Contains("train-images-idx3-ubyte.gz' (or without .gz) is missing"), at::error);
    // the same names without .gz are accepted, and mixed
    write(dir / "t10k-images-idx3-ubyte", idx_images_bytes(2, 28, 28));
    write(dir / "t10k-labels-idx1-ubyte.gz", gzip(idx_labels_bytes({9, 3})));
    const at::dataset small = at::load_fashion_mnist(at::fashion_mnist_part::test, dir.path);
    CHECK(small.labels == std::vector<int>{9, 3});
    CHECK(small.classes == 10);
    write(dir / "t10k-labels-idx1-ubyte.gz", gzip(idx_labels_bytes({10, 3})));
    CHECK_THROWS_WITH_AS(at::load_fashion_mnist(at::fashion_mnist_part::test, dir.path),
                         doctest::Contains("not Fashion-MNIST"), at::error);
}
