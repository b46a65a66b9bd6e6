// Observers: min-max, moving-average min-max (c = 0.01 and 0.1) and their per-channel variants bit-exact
// against torch.ao.quantization (PyTorch 1.13) after every batch; the percentile observer against exact
// order statistics.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "archetype/compress/percentile_observer.hpp"
#include "archetype/core/rng.hpp"
#include "support/quant_golden.hpp"

namespace q = archetype::quant;
using archetype::test::count_bit_mismatches;
using archetype::test::count_mismatches;

namespace {

struct golden_totals {
    std::size_t cases = 0, steps = 0, throws = 0;
};

// What an observer reported after each batch, all steps concatenated (per channel: one entry per channel).
struct observer_trace {
    std::vector<float> min, max, scale;
    std::vector<std::int64_t> zero_point;
    std::vector<std::size_t> entries;  // per step: how many min/max values
    std::vector<bool> threw;           // per step: calculate_qparams() threw
    std::size_t consumed = 0;          // data values fed
};

// Feeds the case's batches one by one (no assertions here, so that the 56 instantiations stay cheap).
template <class Observer>
observer_trace trace_observer(Observer obs, const archetype::test::quant_case& c) {
    observer_trace t;
    const auto sizes = c.i32("batch_sizes");
    if (sizes.empty()) {  // nothing observed
        const auto p = obs.calculate_qparams();
        if constexpr (requires { p.zero_point.size(); }) {
            t.scale = p.scale;
        } else {
            t.scale = {p.scale};
            t.zero_point = {p.zero_point};
        }
        return t;
    }
    const auto& data = c.f32("data");
    for (const auto size : sizes) {
        const auto n = static_cast<std::size_t>(size);
        if (t.consumed + n > data.size()) throw archetype::error(c.name + ": batch sizes exceed the data");
        bool threw = false;
        if constexpr (requires { obs.observe(data.data(), q::channel_layout{}); }) {
            const auto l = c.sizes("layout");
            const q::channel_layout layout{l.at(0), l.at(1), l.at(2)};
            if (layout.size() != n) throw archetype::error(c.name + ": layout does not match the batch size");
            obs.observe(data.data() + t.consumed, layout);
            t.min.insert(t.min.end(), obs.min().begin(), obs.min().end());
            t.max.insert(t.max.end(), obs.max().begin(), obs.max().end());
            const auto p = obs.calculate_qparams();
            t.scale.insert(t.scale.end(), p.scale.begin(), p.scale.end());
            t.zero_point.insert(t.zero_point.end(), p.zero_point.begin(), p.zero_point.end());
            t.entries.push_back(obs.min().size());
        } else {
            obs.observe(data.data() + t.consumed, n);
            t.min.push_back(obs.min());
            t.max.push_back(obs.max());
            try {
                const auto p = obs.calculate_qparams();
                t.scale.push_back(p.scale);
                t.zero_point.push_back(p.zero_point);
            } catch (const archetype::error&) {
                threw = true;
            }
            t.entries.push_back(1);
        }
        t.threw.push_back(threw);
        t.consumed += n;
    }
    return t;
}

// Compares a trace with the case: min and max as values (the sign of a zero extreme is not compared), scale
// bits and zero points. Where PyTorch's scale is infinite (a range wider than FLT_MAX), calculate_qparams
// must have thrown instead.
void compare_trace(const observer_trace& t, const archetype::test::quant_case& c, golden_totals& totals) {
    ++totals.cases;
    const auto& want_scale = c.f32("scale");
    const auto& want_zp = c.i32("zero_point");
    if (t.entries.empty()) {  // nothing observed: PyTorch's default (per channel: no channels)
        if (c.has("layout")) {
            CHECK(t.scale.empty());
        } else {
            CHECK(count_bit_mismatches(t.scale, want_scale, "scale") == 0);
            CHECK(count_mismatches(t.zero_point, want_zp, "zero_point") == 0);
        }
        return;
    }
    CHECK(t.consumed == c.f32("data").size());
    REQUIRE(t.min.size() == c.f32("min").size());
    std::size_t bad_min = 0, bad_max = 0;
    for (std::size_t i = 0; i < t.min.size(); ++i) {
        bad_min += t.min[i] != c.f32("min")[i];
        bad_max += t.max[i] != c.f32("max")[i];
    }
    CHECK(bad_min == 0);
    CHECK(bad_max == 0);
    std::vector<float> want_scale_kept;
    std::vector<std::int64_t> want_zp_kept;
    for (std::size_t step = 0, out = 0; step < t.entries.size(); out += t.entries[step], ++step) {
        CAPTURE(step);
        CHECK(t.threw[step] == std::isinf(want_scale[out]));
        totals.throws += t.threw[step];
        ++totals.steps;
        if (t.threw[step]) continue;
        want_scale_kept.insert(want_scale_kept.end(), want_scale.begin() + long(out),
                               want_scale.begin() + long(out + t.entries[step]));
        want_zp_kept.insert(want_zp_kept.end(), want_zp.begin() + long(out), want_zp.begin() + long(out + t.entries[step]));
    }
    CHECK(count_bit_mismatches(t.scale, want_scale_kept, "scale") == 0);
    CHECK(count_mismatches(t.zero_point, want_zp_kept, "zero_point") == 0);
}

}  // namespace

TEST_CASE("golden: observers' min, max and qparams match PyTorch 1.13 after every batch") {
    const auto cases = archetype::test::load_quant_golden("observers");
    golden_totals totals;
    std::size_t moving_average = 0, per_channel = 0;
    for (const auto& c : cases) {
        CAPTURE(c.name);
        const std::string kind = c.get("observer");
        const float constant = c.has("averaging_constant") ? c.float_bits("averaging_constant") : 0.01f;
        moving_average += kind.starts_with("moving_average");
        per_channel += kind.ends_with("per_channel");
        archetype::test::with_range(c.get("range"), [&](auto range_tag) {
            archetype::test::with_scheme(c.get("scheme"), [&](auto scheme_tag) {
                using range = typename decltype(range_tag)::type;
                using scheme = typename decltype(scheme_tag)::type;
                if (kind == "min_max")
                    compare_trace(trace_observer(q::min_max_observer<range, scheme>{}, c), c, totals);
                else if (kind == "moving_average")
                    compare_trace(trace_observer(q::moving_average_min_max_observer<range, scheme>{constant}, c), c,
                                  totals);
                else if (kind == "per_channel")
                    compare_trace(trace_observer(q::per_channel_min_max_observer<range, scheme>{}, c), c, totals);
                else if (kind == "moving_average_per_channel")
                    compare_trace(
                        trace_observer(q::moving_average_per_channel_min_max_observer<range, scheme>{constant}, c),
                        c, totals);
                else
                    throw archetype::error("unknown observer " + kind);
            });
        });
    }
    CHECK(totals.cases == 152);
    CHECK(moving_average == 6 + 60 + 4);
    CHECK(per_channel == 7 + 3 + 2);
    CHECK(totals.steps == 451);
    CHECK(totals.throws == 6);  // the "huge" affine cases (3 ranges × 2 observers): PyTorch's scale is inf
}

TEST_CASE("observers reject NaN and mismatched channels, ignore empty batches and reset") {
    q::min_max_observer<> mm;
    const float nan_batch[] = {1.0f, std::numeric_limits<float>::quiet_NaN()};
    CHECK_THROWS_AS(mm.observe(nan_batch, 2), archetype::error);
    mm.observe(nan_batch, 0);
    CHECK(mm.calculate_qparams() == q::qparams{1.0f, 0});  // still nothing observed
    const float batch[] = {-1.0f, 3.0f};
    mm.observe(batch, 2);
    CHECK(mm.calculate_qparams() == q::choose_qparams<q::uint8_range>(-1.0f, 3.0f));
    mm.reset();
    CHECK(mm.min() == std::numeric_limits<float>::infinity());

    q::moving_average_min_max_observer<> ma;
    CHECK(ma.averaging_constant() == 0.01f);
    CHECK_THROWS_AS(q::moving_average_min_max_observer<>(0.0f), archetype::error);
    CHECK_THROWS_AS(q::moving_average_min_max_observer<>(1.5f), archetype::error);
    ma.observe(batch, 2);
    const float wide[] = {-101.0f, 103.0f};
    ma.observe(wide, 2);
    CHECK(ma.min() == -2.0f);  // −1 + 0.01·(−101 − (−1))
    CHECK(ma.max() == 4.0f);

    q::per_channel_min_max_observer<q::int8_full_range, q::symmetric> pc;
    const float w[6] = {1, -2, 3, 4, 5, -6};
    pc.observe(w, q::channel_layout{1, 3, 2});
    CHECK(pc.channels() == 3);
    CHECK_THROWS_AS(pc.observe(w, q::channel_layout{1, 2, 3}), archetype::error);
    const auto p = pc.calculate_qparams();
    CHECK(p.scale == std::vector<float>{2.0f / 127.5f, 4.0f / 127.5f, 6.0f / 127.5f});
    CHECK(p.zero_point == std::vector<std::int32_t>{0, 0, 0});
}

// ------------------------------------------------------------------------------------- percentile
namespace {

std::vector<std::vector<float>> growing_batches(std::uint64_t s) {
    archetype::rng g(archetype::seed{s});
    std::vector<std::vector<float>> batches;
    float width = 0.01f;
    for (int b = 0; b < 12; ++b, width *= 3.0f) {  // the range grows 3^11-fold: the grid must merge bins
        std::vector<float> x(500);
        for (auto& v : x) v = g.normal() * width + 0.2f * width;
        batches.push_back(std::move(x));
    }
    return batches;
}

}  // namespace

TEST_CASE("percentile_observer at 100% is the min-max observer") {
    q::percentile_observer<q::int8_full_range> pct(100.0, 64);
    q::min_max_observer<q::int8_full_range> mm;
    for (const auto& b : growing_batches(3)) {
        pct.observe(b);
        mm.observe(b);
        CHECK(pct.clip_range() == std::pair{mm.min(), mm.max()});
        CHECK(pct.calculate_qparams() == mm.calculate_qparams());
    }
    CHECK(pct.bin_count() <= 8 * 64);
}

TEST_CASE("percentile_observer ends are the exact order statistics rounded outwards by under one bin") {
    for (const double p : {99.99, 99.9, 99.0, 90.0, 50.0}) {
        CAPTURE(p);
        q::percentile_observer<q::uint8_range, q::symmetric> obs(p, 256);
        std::vector<float> all;
        double first_width = 0;
        for (const auto& b : growing_batches(11)) {
            obs.observe(b);
            if (first_width == 0) first_width = obs.bin_width();
            all.insert(all.end(), b.begin(), b.end());
            std::vector<float> sorted = all;
            std::sort(sorted.begin(), sorted.end());
            const std::size_t n = sorted.size();
            const auto r = static_cast<std::size_t>(std::ceil(p / 100.0 * double(n)));
            const float exact_hi = sorted[r - 1], exact_lo = sorted[n - r];
            const auto [lo, hi] = obs.clip_range();
            const double w = obs.bin_width();
            CHECK(hi >= exact_hi);
            CHECK(double(hi) - double(exact_hi) < w * (1 + 1e-6));
            CHECK(lo <= exact_lo);
            CHECK(double(exact_lo) - double(lo) < w * (1 + 1e-6));
            CHECK(obs.calculate_qparams() == q::choose_qparams<q::uint8_range, q::symmetric>(lo, hi));
            CHECK(obs.bin_count() <= 8 * 256);
        }
        CHECK(obs.count() == 12 * 500);
        // the grid merged pairs of bins many times: the width is the first one times a power of two
        const double doublings = std::log2(obs.bin_width() / first_width);
        CHECK(doublings >= 8);
        CHECK(doublings == std::round(doublings));
    }
}

TEST_CASE("percentile_observer clips one outlier, handles constant data and rejects bad input") {
    archetype::rng g(archetype::seed{8});
    std::vector<float> x(5000);
    for (auto& v : x) v = g.uniform(-1.0f, 1.0f);
    x[1234] = 1000.0f;
    q::percentile_observer<q::int8_full_range> obs(99.9, 2048);
    obs.observe(x);
    const auto [lo, hi] = obs.clip_range();
    CHECK(obs.max() == 1000.0f);
    CHECK(hi <= 1.0f + float(obs.bin_width()));  // the outlier is clipped away
    CHECK(hi >= 0.99f);
    CHECK(lo <= -0.99f);

    q::percentile_observer<q::uint8_range> constant(99.0, 16);
    const float threes[] = {3.0f, 3.0f, 3.0f};
    constant.observe(threes, 3);
    CHECK(constant.bin_width() == 0.0);
    CHECK(constant.clip_range() == std::pair{3.0f, 3.0f});
    CHECK(constant.calculate_qparams() == q::choose_qparams<q::uint8_range>(3.0f, 3.0f));
    const float later[] = {-1.0f, 5.0f};
    constant.observe(later, 2);  // the three 3s move into the histogram once a width exists
    CHECK(constant.count() == 5);
    CHECK(constant.clip_range() == std::pair{-1.0f, 5.0f});  // 99% of 5 values: rank 5, the max

    q::percentile_observer<> empty;
    CHECK(empty.calculate_qparams() == q::qparams{1.0f, 0});
    const float bad[] = {1.0f, std::numeric_limits<float>::infinity()};
    CHECK_THROWS_AS(empty.observe(bad, 2), archetype::error);
    CHECK_THROWS_AS(q::percentile_observer<>(40.0), archetype::error);
    CHECK_THROWS_AS(q::percentile_observer<>(99.0, 1), archetype::error);
}
