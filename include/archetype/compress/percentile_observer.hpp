// archetype/compress/percentile_observer.hpp — a histogram observer that clips outliers at a percentile.
//
// Why not PyTorch's HistogramObserver: its 1.13 version is not reproducible bit for bit at a reasonable
// cost. It sums float32 L2-norm estimates with torch.sum (vectorised partial sums, whose order decides the
// last bits that its greedy search compares), interpolates histograms when the range grows, and truncates
// the histogram range to integers (torch.histc(x, min=int(min_val), max=int(max_val))). So this observer
// is our own, documented here, and tested against exact order statistics instead of PyTorch.
//
// Contract: percentile_observer<Range, Scheme>(percentile p in [50, 100], bins b) keeps
//   - the exact running min and max (as min_max_observer), and
//   - a histogram of every observed value with bins of one width w on a fixed grid origin + k·w: w starts as
//     (max − min)/b of the first batches with max > min; the grid grows by whole bins when the range grows,
//     and when it would exceed 8·b bins adjacent pairs merge (w doubles), so no count is ever split or
//     interpolated and memory stays bounded.
// clip_range() returns [lo, hi] with N values seen and r = ceil(p/100 · N):
//   hi = min(max, upper edge of the bin holding the r-th smallest value)        >= that value
//   lo = max(min, lower edge of the bin holding the (N + 1 − r)-th smallest)     <= that value
// so each end is the exact order statistic rounded outwards by less than one bin (w), and p = 100 gives
// exactly [min, max] (then calculate_qparams() equals min_max_observer's). calculate_qparams() is
// choose_qparams<Range, Scheme>(lo, hi). Empty batches are ignored; NaN throws archetype::error. The result
// depends only on the sequence of batches (no threads involved).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "archetype/compress/observers.hpp"

namespace archetype::quant {

template <range_policy Range = uint8_range, class Scheme = affine>
class percentile_observer {
public:
    using range = Range;
    using scheme = Scheme;

    explicit percentile_observer(double percentile = 99.99, std::size_t bins = 2048)
        : percentile_(percentile), bins_(bins) {
        if (!(percentile >= 50.0 && percentile <= 100.0))
            throw error("percentile_observer: percentile " + std::to_string(percentile) + " must lie in [50, 100]");
        if (bins < 2) throw error("percentile_observer: needs at least 2 bins, got " + std::to_string(bins));
    }

    void observe(const float* x, std::size_t n) {
        if (n == 0) return;
        const auto b = detail::batch_min_max(x, n, "percentile_observer");
        if (!std::isfinite(b.min) || !std::isfinite(b.max))
            throw error("percentile_observer: input holds an infinity; observers need finite data");
        const float previous_value = mm_.min;  // the one value seen so far while there is no histogram
        const std::uint64_t previous_total = total_;
        if (b.min < mm_.min) mm_.min = b.min;
        if (b.max > mm_.max) mm_.max = b.max;
        total_ += n;
        if (width_ == 0.0) {
            if (mm_.min == mm_.max) return;  // every value so far is the same: no width to pick yet
            origin_ = mm_.min;
            width_ = (static_cast<double>(mm_.max) - static_cast<double>(mm_.min)) / static_cast<double>(bins_);
            first_ = bin_of(mm_.min);
            counts_.assign(1, 0);
            cover(mm_.min, mm_.max);
            if (previous_total) counts_[static_cast<std::size_t>(bin_of(previous_value) - first_)] += previous_total;
        } else {
            cover(b.min, b.max);
        }
        for (std::size_t i = 0; i < n; ++i) ++counts_[static_cast<std::size_t>(bin_of(x[i]) - first_)];
    }
    void observe(std::span<const float> x) { observe(x.data(), x.size()); }

    float min() const { return mm_.min; }
    float max() const { return mm_.max; }
    std::uint64_t count() const { return total_; }
    double bin_width() const { return width_; }         // 0 while every value seen is the same
    std::size_t bin_count() const { return counts_.size(); }

    // [lo, hi] as in the contract; the "nothing observed" pair (+inf, −inf) before any value.
    std::pair<float, float> clip_range() const {
        if (total_ == 0 || width_ == 0.0) return {mm_.min, mm_.max};
        auto r_hi = static_cast<std::uint64_t>(std::ceil(percentile_ / 100.0 * static_cast<double>(total_)));
        if (r_hi < 1) r_hi = 1;
        if (r_hi > total_) r_hi = total_;
        const std::uint64_t r_lo = total_ + 1 - r_hi;
        const float lo = static_cast<float>(origin_ + static_cast<double>(first_ + bin_of_rank(r_lo)) * width_);
        const float hi = static_cast<float>(origin_ + static_cast<double>(first_ + bin_of_rank(r_hi) + 1) * width_);
        return {lo > mm_.min ? lo : mm_.min, hi < mm_.max ? hi : mm_.max};
    }
    qparams calculate_qparams() const {
        const auto [lo, hi] = clip_range();
        return choose_qparams<Range, Scheme>(lo, hi);
    }
    void reset() { *this = percentile_observer(percentile_, bins_); }

private:
    std::int64_t bin_of(float v) const {
        return static_cast<std::int64_t>(std::floor((static_cast<double>(v) - origin_) / width_));
    }
    static std::int64_t floor_half(std::int64_t k) { return k >= 0 ? k / 2 : -((-k + 1) / 2); }

    // Index (into counts_) of the bin holding the rank-th smallest value, 1 <= rank <= total_.
    std::int64_t bin_of_rank(std::uint64_t rank) const {
        std::uint64_t seen = 0;
        for (std::size_t j = 0; j < counts_.size(); ++j) {
            seen += counts_[j];
            if (seen >= rank) return static_cast<std::int64_t>(j);
        }
        return static_cast<std::int64_t>(counts_.size()) - 1;
    }

    // Grows the grid to hold the bins of lo and hi, first merging pairs of bins while it would hold more than
    // 8·b bins (the test runs in double, so a huge new range cannot overflow a bin index).
    void cover(float lo, float hi) {
        const auto grid = [this](float v) { return std::floor((static_cast<double>(v) - origin_) / width_); };
        const auto last = [this] { return first_ + static_cast<std::int64_t>(counts_.size()) - 1; };
        while (std::fmax(grid(hi), static_cast<double>(last())) - std::fmin(grid(lo), static_cast<double>(first_)) +
                   1.0 >
               static_cast<double>(8 * bins_))
            merge_pairs();
        const std::int64_t k_lo = bin_of(lo), k_hi = bin_of(hi);
        if (k_lo < first_) {
            counts_.insert(counts_.begin(), static_cast<std::size_t>(first_ - k_lo), 0);
            first_ = k_lo;
        }
        if (k_hi > last()) counts_.resize(counts_.size() + static_cast<std::size_t>(k_hi - last()), 0);
    }
    // Bin k of width w lies inside bin floor(k/2) of width 2w on the same origin: counts move, never split.
    void merge_pairs() {
        const std::int64_t new_first = floor_half(first_);
        const std::int64_t new_last = floor_half(first_ + static_cast<std::int64_t>(counts_.size()) - 1);
        std::vector<std::uint64_t> merged(static_cast<std::size_t>(new_last - new_first + 1), 0);
        for (std::size_t j = 0; j < counts_.size(); ++j)
            merged[static_cast<std::size_t>(floor_half(first_ + static_cast<std::int64_t>(j)) - new_first)] +=
                counts_[j];
        counts_ = std::move(merged);
        first_ = new_first;
        width_ *= 2.0;
    }

    double percentile_;
    std::size_t bins_;
    detail::min_max_pair mm_;
    std::uint64_t total_ = 0;
    double origin_ = 0.0, width_ = 0.0;
    std::int64_t first_ = 0;  // grid index of counts_[0]
    std::vector<std::uint64_t> counts_;
};

}  // namespace archetype::quant
