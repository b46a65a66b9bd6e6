// archetype/compress/observers.hpp — post-training-quantization observers: they watch float tensors and
// propose qparams. Each matches its torch.ao.quantization (PyTorch 1.13) namesake bit for bit for the same
// sequence of inputs: the same running min/max (as values; the sign of a zero extreme may differ, which no
// qparams can see) and the same scale and zero point bits.
//
// Contract (Range and Scheme as in quant_params.hpp; calculate_qparams() = choose_qparams<Range, Scheme>):
//   min_max_observer                    MinMaxObserver: min = min(min, min(x)), max likewise.
//   moving_average_min_max_observer     MovingAverageMinMaxObserver(averaging_constant c = 0.01): the first
//                                       batch sets min/max; later ones do min += c·(min(x) − min) in float32,
//                                       the product rounded before the sum (no fused multiply-add).
//   per_channel_min_max_observer        PerChannelMinMaxObserver: min/max per channel of a
//                                       [outer][channels][inner] layout (ch_axis is the middle index).
//   moving_average_per_channel_min_max_observer   MovingAveragePerChannelMinMaxObserver, likewise.
// observe(x, n) with n = 0 does nothing (PyTorch returns early). Before any observation calculate_qparams()
// gives PyTorch's default (scale 1, zero point 0; per channel: no channels). A NaN in x throws
// archetype::error at observe time (PyTorch would keep NaN and assert later); ±inf are kept and make
// calculate_qparams() throw. A per-channel observer keeps the channel count of its first batch.
// For the histogram observer see percentile_observer.hpp (not PyTorch's HistogramObserver; it says why).
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "archetype/compress/quant_params.hpp"

namespace archetype::quant {

namespace detail {

struct min_max_pair {
    float min = std::numeric_limits<float>::infinity();
    float max = -std::numeric_limits<float>::infinity();
};

// Min and max of n > 0 values with a NaN check (NaN never compares, so it would be skipped silently).
inline min_max_pair batch_min_max(const float* x, std::size_t n, const char* who) {
    min_max_pair r{x[0], x[0]};
    for (std::size_t i = 0; i < n; ++i) {
        const float v = x[i];
        if (v != v)
            throw error(std::string(who) + ": input element " + std::to_string(i) +
                        " is NaN; observers need finite data (check the layer that produced it)");
        if (v < r.min) r.min = v;
        if (v > r.max) r.max = v;
    }
    return r;
}

// avg + c·(cur − avg) with the product rounded to float before the addition, as PyTorch computes it in two
// tensor operations. The volatile keeps the compiler from contracting the two into one fused multiply-add
// (GCC does so under -march with FMA even across statements).
inline float moving_average_step(float avg, float cur, float c) {
    const float difference = cur - avg;
    volatile float step = c * difference;
    return avg + step;
}

inline void check_averaging_constant(float c) {
    if (!(c > 0.0f && c <= 1.0f))
        throw error("moving-average observer: averaging constant " + std::to_string(c) + " must lie in (0, 1]");
}

}  // namespace detail

template <range_policy Range = uint8_range, class Scheme = affine>
class min_max_observer {
public:
    using range = Range;
    using scheme = Scheme;

    void observe(const float* x, std::size_t n) {
        if (n == 0) return;
        const auto b = detail::batch_min_max(x, n, "min_max_observer");
        if (b.min < mm_.min) mm_.min = b.min;
        if (b.max > mm_.max) mm_.max = b.max;
    }
    void observe(std::span<const float> x) { observe(x.data(), x.size()); }

    float min() const { return mm_.min; }
    float max() const { return mm_.max; }
    qparams calculate_qparams() const { return choose_qparams<Range, Scheme>(mm_.min, mm_.max); }
    void reset() { mm_ = {}; }

private:
    detail::min_max_pair mm_;
};

template <range_policy Range = uint8_range, class Scheme = affine>
class moving_average_min_max_observer {
public:
    using range = Range;
    using scheme = Scheme;

    explicit moving_average_min_max_observer(float averaging_constant = 0.01f) : c_(averaging_constant) {
        detail::check_averaging_constant(c_);
    }

    void observe(const float* x, std::size_t n) {
        if (n == 0) return;
        const auto b = detail::batch_min_max(x, n, "moving_average_min_max_observer");
        if (!seen_) {
            mm_ = b;
            seen_ = true;
        } else {
            mm_.min = detail::moving_average_step(mm_.min, b.min, c_);
            mm_.max = detail::moving_average_step(mm_.max, b.max, c_);
        }
    }
    void observe(std::span<const float> x) { observe(x.data(), x.size()); }

    float averaging_constant() const { return c_; }
    float min() const { return mm_.min; }
    float max() const { return mm_.max; }
    qparams calculate_qparams() const { return choose_qparams<Range, Scheme>(mm_.min, mm_.max); }
    void reset() {
        mm_ = {};
        seen_ = false;
    }

private:
    float c_;
    detail::min_max_pair mm_;
    bool seen_ = false;  // PyTorch tests min == inf && max == -inf, which is the same thing for finite data
};

namespace detail {

// Shared by the per-channel observers: per-channel min/max of one batch, and the channel bookkeeping.
class per_channel_base {
public:
    std::span<const float> min() const { return min_; }
    std::span<const float> max() const { return max_; }
    std::size_t channels() const { return min_.size(); }

protected:
    // Min/max of each channel of x, or false when the batch is empty.
    bool batch(const float* x, channel_layout layout, const char* who) {
        if (layout.size() == 0) return false;
        if (!min_.empty() && layout.channels != min_.size())
            throw error(std::string(who) + ": batch has " + std::to_string(layout.channels) +
                        " channels but the observer has seen " + std::to_string(min_.size()) +
                        "; use one observer per tensor");
        cur_min_.assign(layout.channels, 0.0f);
        cur_max_.assign(layout.channels, 0.0f);
        for (std::size_t c = 0; c < layout.channels; ++c) {
            min_max_pair r{x[c * layout.inner], x[c * layout.inner]};
            for (std::size_t o = 0; o < layout.outer; ++o) {
                const auto b = batch_min_max(x + (o * layout.channels + c) * layout.inner, layout.inner, who);
                if (b.min < r.min) r.min = b.min;
                if (b.max > r.max) r.max = b.max;
            }
            cur_min_[c] = r.min;
            cur_max_[c] = r.max;
        }
        return true;
    }
    void reset_channels() {
        min_.clear();
        max_.clear();
    }

    std::vector<float> min_, max_, cur_min_, cur_max_;
};

}  // namespace detail

template <range_policy Range = uint8_range, class Scheme = affine>
class per_channel_min_max_observer : public detail::per_channel_base {
public:
    using range = Range;
    using scheme = Scheme;

    void observe(const float* x, channel_layout layout) {
        if (!batch(x, layout, "per_channel_min_max_observer")) return;
        if (min_.empty()) {
            min_ = cur_min_;
            max_ = cur_max_;
            return;
        }
        for (std::size_t c = 0; c < min_.size(); ++c) {
            if (cur_min_[c] < min_[c]) min_[c] = cur_min_[c];
            if (cur_max_[c] > max_[c]) max_[c] = cur_max_[c];
        }
    }
    channel_qparams calculate_qparams() const { return choose_qparams<Range, Scheme>(min(), max()); }
    void reset() { reset_channels(); }
};

template <range_policy Range = uint8_range, class Scheme = affine>
class moving_average_per_channel_min_max_observer : public detail::per_channel_base {
public:
    using range = Range;
    using scheme = Scheme;

    explicit moving_average_per_channel_min_max_observer(float averaging_constant = 0.01f)
        : c_(averaging_constant) {
        detail::check_averaging_constant(c_);
    }

    void observe(const float* x, channel_layout layout) {
        if (!batch(x, layout, "moving_average_per_channel_min_max_observer")) return;
        if (min_.empty()) {
            min_ = cur_min_;
            max_ = cur_max_;
            return;
        }
        for (std::size_t c = 0; c < min_.size(); ++c) {
            min_[c] = detail::moving_average_step(min_[c], cur_min_[c], c_);
            max_[c] = detail::moving_average_step(max_[c], cur_max_[c], c_);
        }
    }
    float averaging_constant() const { return c_; }
    channel_qparams calculate_qparams() const { return choose_qparams<Range, Scheme>(min(), max()); }
    void reset() { reset_channels(); }

private:
    float c_;
};

}  // namespace archetype::quant
