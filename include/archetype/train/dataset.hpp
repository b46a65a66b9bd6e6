// archetype/train/dataset.hpp — in-memory labelled image data: loading, subsets, splits and batches.
//
// Contract: a `dataset` holds N samples of shape `sample` as floats [N][C][H][W] in an aligned buffer
// and N integer labels in [0, classes). IDX images are scaled to [0, 1] by v / 255 (as torchvision's
// ToTensor). load_fashion_mnist reads the standard four files (with or without .gz) from a directory,
// by default $ARCHETYPE_FASHION_MNIST_DIR or else /usr/share/datasets/fashion-mnist; a missing directory
// or file throws archetype::error naming the path and how to get the data. subset and select_samples
// copy samples; split_off draws a held-out part by a seeded shuffle (each part keeps the original order).
// batch_loader cuts a dataset into batches of `batch_size` samples, the last one smaller when the size
// does not divide (it is used, not dropped); with a seed, the order is a seeded permutation that
// depends only on (seed, epoch), so runs are reproducible and resumable at any epoch. A shuffled loader
// may also augment (`augmentation`: random shifts with zeros shifted in, as zero padding + random crop,
// left-right mirroring and random erasing, each drawn per sample from (seed, epoch, position in the
// epoch)).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "archetype/core/aligned_buffer.hpp"
#include "archetype/core/error.hpp"
#include "archetype/core/rng.hpp"
#include "archetype/core/shape.hpp"
#include "archetype/train/idx.hpp"

namespace archetype {

struct dataset {
    shape sample{};                // shape of one sample (C, H, W)
    int classes = 0;               // labels lie in [0, classes)
    aligned_buffer<float> images;  // [size()][C][H][W]
    std::vector<int> labels;

    std::size_t size() const { return labels.size(); }
    const float* image(std::size_t i) const { return images.data() + i * sample.size(); }
};

// The samples at `indices`, in that order.
inline dataset select_samples(const dataset& d, std::span<const std::size_t> indices) {
    dataset r;
    r.sample = d.sample;
    r.classes = d.classes;
    r.images.resize(indices.size() * d.sample.size());
    r.labels.resize(indices.size());
    const std::size_t per = d.sample.size();
    for (std::size_t i = 0; i < indices.size(); ++i) {
        if (indices[i] >= d.size())
            throw error("dataset select_samples: index " + std::to_string(indices[i]) + " is outside a dataset of " +
                        std::to_string(d.size()) + " samples");
        std::copy(d.image(indices[i]), d.image(indices[i]) + per, r.images.data() + i * per);
        r.labels[i] = d.labels[indices[i]];
    }
    return r;
}

// Samples [first, first + count).
inline dataset subset(const dataset& d, std::size_t first, std::size_t count) {
    if (first > d.size() || count > d.size() - first)
        throw error("dataset subset: samples [" + std::to_string(first) + ", " + std::to_string(first + count) +
                    ") do not lie inside a dataset of " + std::to_string(d.size()) + " samples; ask for fewer");
    std::vector<std::size_t> idx(count);
    std::iota(idx.begin(), idx.end(), first);
    return select_samples(d, idx);
}

struct dataset_split {
    dataset train;       // the samples not held out
    dataset validation;  // `held_out` samples chosen by the seeded shuffle
};

// Holds out `held_out` samples chosen by a seeded shuffle; both parts keep the original sample order.
inline dataset_split split_off(const dataset& d, std::size_t held_out, seed s) {
    if (held_out > d.size())
        throw error("dataset split: cannot hold out " + std::to_string(held_out) + " samples of a dataset of " +
                    std::to_string(d.size()));
    std::vector<std::size_t> order(d.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    rng g(s);
    g.shuffle(order.begin(), order.end());
    std::vector<std::size_t> val(order.begin(), order.begin() + std::ptrdiff_t(held_out));
    std::vector<std::size_t> rest(order.begin() + std::ptrdiff_t(held_out), order.end());
    std::sort(val.begin(), val.end());
    std::sort(rest.begin(), rest.end());
    return {select_samples(d, rest), select_samples(d, val)};
}

// A pair of IDX files (images, labels) as a dataset of shape {1, rows, cols}; classes = max label + 1.
inline dataset load_idx(const std::filesystem::path& images_path, const std::filesystem::path& labels_path) {
    const idx_images im = read_idx_images(images_path);
    const std::vector<std::uint8_t> lb = read_idx_labels(labels_path);
    if (im.count != lb.size())
        throw error("IDX pair: '" + images_path.string() + "' holds " + std::to_string(im.count) + " images but '" +
                    labels_path.string() + "' holds " + std::to_string(lb.size()) +
                    " labels; pass the two files of the same split (e.g. train-images with train-labels)");
    dataset d;
    d.sample = shape{1, int(im.rows), int(im.cols)};
    d.images.resize(im.pixels.size());
    for (std::size_t i = 0; i < im.pixels.size(); ++i) d.images[i] = float(im.pixels[i]) / 255.0f;
    d.labels.assign(lb.begin(), lb.end());
    d.classes = lb.empty() ? 0 : int(*std::max_element(lb.begin(), lb.end())) + 1;
    return d;
}

inline std::filesystem::path default_fashion_mnist_dir() {
    if (const char* env = std::getenv("ARCHETYPE_FASHION_MNIST_DIR"); env && *env) return env;
    return "/usr/share/datasets/fashion-mnist";
}

enum class fashion_mnist_part { train, test };

// The training (60,000) or test (10,000) part of Fashion-MNIST: shape {1, 28, 28}, 10 classes.
inline dataset load_fashion_mnist(fashion_mnist_part part,
                                  const std::filesystem::path& dir = default_fashion_mnist_dir()) {
    const std::string how = "; install it with `apt-get install dataset-fashion-mnist`, or pass its directory "
                            "to load_fashion_mnist(part, dir), or set ARCHETYPE_FASHION_MNIST_DIR";
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw error("Fashion-MNIST directory '" + dir.string() + "' does not exist" + how);
    auto find = [&](const std::string& stem) {
        for (const auto& name : {stem + ".gz", stem})
            if (std::filesystem::exists(dir / name, ec)) return dir / name;
        throw error("Fashion-MNIST file '" + (dir / (stem + ".gz")).string() + "' (or without .gz) is missing" + how);
    };
    const std::string prefix = part == fashion_mnist_part::train ? "train" : "t10k";
    const auto images = find(prefix + "-images-idx3-ubyte");
    const auto labels = find(prefix + "-labels-idx1-ubyte");
    dataset d = load_idx(images, labels);
    if (d.classes > 10)
        throw error("Fashion-MNIST in '" + dir.string() + "' has label " + std::to_string(d.classes - 1) +
                    " but Fashion-MNIST has 10 classes (0..9); the files are not Fashion-MNIST");
    d.classes = 10;
    return d;
}

// One batch: `size` samples at x (contiguous [size][C][H][W]) with their labels.
struct batch {
    const float* x = nullptr;
    const int* labels = nullptr;
    std::size_t size = 0;
};

// Training-time transforms of image samples. shift: translate by (dy, dx), each uniform in
// [−shift, shift], zeros shifted in (torchvision's RandomCrop(size, padding=shift) on zero padding);
// hflip: mirror left-right with probability 1/2 (RandomHorizontalFlip); erase: with this probability,
// after the shift and flip, set one rectangle of all channels to 0 (random erasing, Zhong et al. 2017,
// with zeros: the rectangle covers a uniform 2–40% of the image, aspect ratio h/w log-uniform in
// [0.3, 3.3], position uniform; a draw that does not fit is drawn again, up to 10 times). All off: no
// transform. The draws of shift and flip come first, so erase = 0 leaves them as they were.
struct augmentation {
    int shift = 0;
    bool hflip = false;
    float erase = 0.0f;

    bool active() const { return shift > 0 || hflip || erase > 0.0f; }
    // Throws archetype::error unless 0 ≤ shift < the smaller side of `sample` and 0 ≤ erase ≤ 1.
    void check(const shape& sample) const {
        if (shift < 0 || shift >= std::min(sample.h, sample.w))
            throw error("augmentation: shift " + std::to_string(shift) + " on samples of shape " + sample.str() +
                        "; use 0 (off) up to " + std::to_string(std::min(sample.h, sample.w) - 1));
        if (!(erase >= 0.0f && erase <= 1.0f))
            throw error("augmentation: erase probability " + std::to_string(erase) +
                        "; use a probability from 0 (off) to 1");
    }
};

// A rectangle [top, top + h) × [left, left + w) of an image; h = 0 when none.
struct erase_box {
    int top = 0, left = 0, h = 0, w = 0;
};

// The random-erasing rectangle of `augmentation` for an image of s.h × s.w drawn from g (see above).
inline erase_box draw_erase_box(rng& g, const shape& s) {
    const float area = float(s.h) * float(s.w);
    for (int attempt = 0; attempt < 10; ++attempt) {
        const float a = g.uniform(0.02f, 0.4f) * area;
        const float ratio = std::exp(g.uniform(std::log(0.3f), std::log(3.3f)));
        const int h = int(std::lround(std::sqrt(a * ratio))), w = int(std::lround(std::sqrt(a / ratio)));
        if (h < 1 || w < 1 || h > s.h || w > s.w) continue;
        const int top = int(g.below(std::uint64_t(s.h - h + 1)));
        const int left = int(g.below(std::uint64_t(s.w - w + 1)));
        return {top, left, h, w};
    }
    return {};
}

// Sets the rectangle b of every channel of x (shape s) to 0.
inline void erase(float* x, const shape& s, const erase_box& b) {
    for (int c = 0; c < s.c; ++c)
        for (int h = b.top; h < b.top + b.h; ++h)
            std::fill_n(x + (std::size_t(c) * s.h + h) * s.w + b.left, b.w, 0.0f);
}

// dst[c][h][w] = src[c][h + dy][w' + dx] with w' = W − 1 − w when flip, else w; 0 outside the image.
inline void shift_and_flip(const float* src, float* dst, const shape& s, int dy, int dx, bool flip) {
    for (int c = 0; c < s.c; ++c)
        for (int h = 0; h < s.h; ++h) {
            float* out = dst + (std::size_t(c) * s.h + h) * s.w;
            const int sh = h + dy;
            if (sh < 0 || sh >= s.h) {
                std::fill_n(out, s.w, 0.0f);
                continue;
            }
            const float* in = src + (std::size_t(c) * s.h + sh) * s.w;
            for (int w = 0; w < s.w; ++w) {
                const int sw = (flip ? s.w - 1 - w : w) + dx;
                out[w] = sw >= 0 && sw < s.w ? in[sw] : 0.0f;
            }
        }
}

// Batches of a dataset in order, or in a seeded per-epoch permutation. A batch returned by operator[]
// points into the dataset (in order) or into the loader's own buffer (shuffled): it stays valid until
// the next operator[] call on the same loader, and as long as the dataset lives.
class batch_loader {
public:
    batch_loader(const dataset& d, std::size_t batch_size) : d_(&d), batch_(batch_size) { check(); }
    batch_loader(const dataset& d, std::size_t batch_size, seed s, std::uint64_t epoch, augmentation aug = {})
        : d_(&d), batch_(batch_size), aug_(aug), aug_rng_(rng(s).split(epoch).split(augment_stream)) {
        check();
        aug_.check(d.sample);
        order_.resize(d.size());
        std::iota(order_.begin(), order_.end(), std::size_t(0));
        rng(s).split(epoch).shuffle(order_.begin(), order_.end());
        x_.resize(std::min(batch_, d.size()) * d.sample.size());
        y_.resize(std::min(batch_, d.size()));
    }

    std::size_t size() const { return (d_->size() + batch_ - 1) / batch_; }
    // The permutation of this epoch (empty when not shuffled).
    std::span<const std::size_t> order() const { return order_; }

    batch operator[](std::size_t i) {
        const std::size_t first = i * batch_, n = std::min(batch_, d_->size() - first);
        if (order_.empty()) return {d_->image(first), d_->labels.data() + first, n};
        const std::size_t per = d_->sample.size();
        for (std::size_t j = 0; j < n; ++j) {
            const std::size_t k = order_[first + j];
            if (aug_.active()) {
                rng g = aug_rng_.split(first + j);  // depends on the position only: any access order
                const int span = 2 * aug_.shift + 1;
                const int dy = int(g.below(std::uint64_t(span))) - aug_.shift;
                const int dx = int(g.below(std::uint64_t(span))) - aug_.shift;
                const bool flip = aug_.hflip && g.below(2) == 1;
                shift_and_flip(d_->image(k), x_.data() + j * per, d_->sample, dy, dx, flip);
                if (aug_.erase > 0.0f && g.uniform() < aug_.erase)
                    erase(x_.data() + j * per, d_->sample, draw_erase_box(g, d_->sample));
            } else {
                std::copy(d_->image(k), d_->image(k) + per, x_.data() + j * per);
            }
            y_[j] = d_->labels[k];
        }
        return {x_.data(), y_.data(), n};
    }

private:
    void check() const {
        if (batch_ == 0) throw error("batch_loader: the batch size is 0; use at least 1");
        if (d_->size() == 0) throw error("batch_loader: the dataset is empty; load some samples first");
    }

    static constexpr std::uint64_t augment_stream = 0x61756731;  // the augmentation's own rng stream

    const dataset* d_;
    std::size_t batch_;
    augmentation aug_{};
    rng aug_rng_{seed{0}};
    std::vector<std::size_t> order_;
    aligned_buffer<float> x_;
    std::vector<int> y_;
};

}  // namespace archetype
