// archetype/io/progress.hpp — progress of a long run: done/total, rate, time left, best so far.
//
// Contract: a progress reporter is told update(done) as work completes (done counts from 0 to total,
// work restored from a checkpoint included) and finish() at the end. The rate counts only the work
// done since the reporter was made (`done` at the first update is the starting point), and the time
// left is (total - done) / rate. Styles: `bar` redraws one line in place ("\r", for a terminal);
// `lines` writes a plain line at most every `line_interval` seconds, plus the first and the last
// update (for logs and pipes); `automatic` is `bar` when the stream is std::cout (std::cerr) and
// standard output (standard error) is a terminal, else `lines`; `none` writes nothing. The best-so-far text comes from a callback that
// is called only when a line is written (it may be costly, e.g. a Pareto front). Time comes from a
// clock function in seconds (steady_clock unless given), so tests can drive it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <iostream>
#include <ostream>
#include <string>

#include <unistd.h>

namespace archetype {

enum class progress_style : unsigned char { none, automatic, bar, lines };

struct progress_options {
    progress_style style = progress_style::automatic;
    std::ostream* stream = &std::cout;
    double line_interval = 5.0;         // seconds between plain lines
    std::size_t bar_width = 30;         // characters of the bar
    std::string label{};                // written before the counts, e.g. "search"
    std::function<double()> clock{};    // seconds; empty: steady_clock
};

// "0:07", "12:05", "3:02:09"; "--:--" when unknown (negative, infinite or NaN).
inline std::string format_duration(double seconds) {
    if (!(seconds >= 0) || !std::isfinite(seconds) || seconds > 1e8) return "--:--";
    const auto s = static_cast<long long>(std::llround(seconds));
    char buf[48];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
    return buf;
}

// "1473/s", "12.3/s" at or above one per second, "4.1/min" below.
inline std::string format_rate(double per_second) {
    char buf[48];
    if (!(per_second > 0) || !std::isfinite(per_second)) return "-/s";
    if (per_second >= 100)
        std::snprintf(buf, sizeof buf, "%.0f/s", per_second);
    else if (per_second >= 1)
        std::snprintf(buf, sizeof buf, "%.3g/s", per_second);
    else
        std::snprintf(buf, sizeof buf, "%.3g/min", per_second * 60);
    return buf;
}

class progress {
public:
    explicit progress(std::size_t total, progress_options o = {}) : total_(total), o_(std::move(o)) {
        if (!o_.stream) o_.style = progress_style::none;
        if (o_.style == progress_style::automatic) {
            const bool terminal = (o_.stream == &std::cout && ::isatty(STDOUT_FILENO)) ||
                                  (o_.stream == &std::cerr && ::isatty(STDERR_FILENO));
            o_.style = terminal ? progress_style::bar : progress_style::lines;
        }
        if (!o_.clock) {
            const auto t0 = std::chrono::steady_clock::now();
            o_.clock = [t0] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
        }
    }

    progress_style style() const { return o_.style; }
    void set_total(std::size_t total) { total_ = total; }

    void update(std::size_t done, const std::function<std::string()>& best = {}) {
        if (o_.style == progress_style::none) return;
        const double now = o_.clock();
        if (!started_) {
            started_ = true;
            start_done_ = done;
            start_time_ = now;
        }
        const bool last = done >= total_;
        if (o_.style == progress_style::lines && lines_ > 0 && !last && now - last_line_ < o_.line_interval) return;
        last_line_ = now;
        ++lines_;
        const std::string text = render(done, now - start_time_, best ? best() : std::string{});
        if (o_.style == progress_style::bar) {
            const std::size_t pad = width_ > text.size() ? width_ - text.size() : 0;
            *o_.stream << '\r' << text << std::string(pad, ' ') << std::flush;
            width_ = text.size();
        } else {
            *o_.stream << text << '\n' << std::flush;
        }
    }

    // Ends the bar's line (the last state stays on screen).
    void finish() {
        if (o_.style == progress_style::bar && lines_ > 0 && !finished_) *o_.stream << '\n' << std::flush;
        finished_ = true;
    }

    // The text of one line: "label [#####-----] 37/100 37% 12.3/s ETA 0:05 best 88.1".
    std::string render(std::size_t done, double elapsed, const std::string& best) const {
        std::string s = o_.label.empty() ? "" : o_.label + " ";
        const double fraction = total_ ? std::min(1.0, double(done) / double(total_)) : 1.0;
        if (o_.style == progress_style::bar) {
            const auto filled = std::size_t(fraction * double(o_.bar_width));
            s += "[" + std::string(filled, '#') + std::string(o_.bar_width - filled, '-') + "] ";
        }
        s += std::to_string(done) + "/" + std::to_string(total_) + " " +
             std::to_string(int(std::floor(fraction * 100))) + "%";
        const double rate = elapsed > 0 ? double(done - std::min(done, start_done_)) / elapsed : 0.0;
        s += " " + format_rate(rate);
        s += done >= total_ ? " done in " + format_duration(elapsed)
                            : " ETA " + format_duration(rate > 0 ? double(total_ - done) / rate : -1.0);
        if (!best.empty()) s += " " + best;
        return s;
    }

private:
    std::size_t total_;
    progress_options o_;
    bool started_ = false, finished_ = false;
    std::size_t start_done_ = 0, lines_ = 0, width_ = 0;
    double start_time_ = 0, last_line_ = 0;
};

}  // namespace archetype
