// archetype/io/pareto_report.hpp — reports of a search: CSV tables and an SVG scatter plot of the
// evaluated points with the Pareto front highlighted.
//
// Contract: to_csv writes RFC 4180 text (comma-separated, "\n" line ends, a field quoted when it holds
// a comma, quote, CR or LF, quotes doubled); numbers are written with format_number (shortest text
// that reads back as the same double). pareto_svg draws a standalone SVG 1.1 document: a title,
// both axes with "nice" ticks (1, 2 or 5 times a power of ten) and their labels, every point as a
// small grey dot, the points marked `front` as larger red dots joined in order of x, and baselines
// as labelled black diamonds; a legend above the plot counts the points, the front and the
// baselines. The plotted range covers every point and baseline with a 5% margin; a degenerate range
// (one value) is widened by one unit.
// Text is XML-escaped. Non-finite coordinates are an archetype::error naming the point. This file
// knows nothing of strategies: search/report.hpp turns a strategy's history into these inputs.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "archetype/core/error.hpp"

namespace archetype {

struct plot_point {
    double x = 0, y = 0;
    std::string label{};  // shown for baselines, kept as a tooltip (<title>) for points
    bool front = false;
};

struct plot_options {
    std::string title{};
    std::string x_label{};
    std::string y_label{};
    int width = 800, height = 560;
};

// The shortest decimal text that reads back as the same double ("0.1", "47327744", "1e-300").
inline std::string format_number(double v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

inline std::string csv_field(std::string_view s) {
    if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

inline std::string to_csv(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    auto line = [](const std::vector<std::string>& fields) {
        std::string s;
        for (std::size_t i = 0; i < fields.size(); ++i) s += (i ? "," : "") + csv_field(fields[i]);
        return s + "\n";
    };
    std::string out = line(header);
    for (const auto& r : rows) {
        if (r.size() != header.size())
            throw error("CSV: a row has " + std::to_string(r.size()) + " fields but the header has " +
                        std::to_string(header.size()) + "; give one value per column");
        out += line(r);
    }
    return out;
}

namespace detail {

inline std::string xml_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

inline std::string fixed(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

// Tick positions covering [lo, hi]: about `target` steps of 1, 2 or 5 times a power of ten.
inline std::vector<double> nice_ticks(double lo, double hi, int target = 6) {
    const double raw = (hi - lo) / target;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    double step = power;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * power) {
            step = m * power;
            break;
        }
    std::vector<double> ticks;
    for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
        ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    return ticks;
}

inline std::string tick_label(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

}  // namespace detail

inline std::string pareto_svg(const std::vector<plot_point>& points, const std::vector<plot_point>& baselines,
                              const plot_options& o) {
    double x0 = HUGE_VAL, x1 = -HUGE_VAL, y0 = HUGE_VAL, y1 = -HUGE_VAL;
    for (const auto* set : {&points, &baselines})
        for (const auto& p : *set) {
            if (!std::isfinite(p.x) || !std::isfinite(p.y))
                throw error("pareto_svg: point \"" + p.label + "\" has a non-finite coordinate (" +
                            format_number(p.x) + ", " + format_number(p.y) + "); plot finite values only");
            x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
        }
    if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;  // nothing to plot: an empty frame
    if (x1 == x0) x0 -= 1, x1 += 1;
    if (y1 == y0) y0 -= 1, y1 += 1;
    const double mx = (x1 - x0) * 0.05, my = (y1 - y0) * 0.05;
    x0 -= mx, x1 += mx, y0 -= my, y1 += my;

    const double left = 80, right = 24, top = 70, bottom = 64;
    const double pw = o.width - left - right, ph = o.height - top - bottom;
    auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
    auto py = [&](double y) { return top + (y1 - y) / (y1 - y0) * ph; };
    using detail::fixed;

    std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    std::to_string(o.width) + "\" height=\"" + std::to_string(o.height) + "\" viewBox=\"0 0 " +
                    std::to_string(o.width) + " " + std::to_string(o.height) +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    s += "<text class=\"title\" x=\"" + fixed(o.width / 2.0) + "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">" +
         detail::xml_escape(o.title) + "</text>\n";
    // Grid, ticks and tick labels.
    s += "<g class=\"axes\" stroke=\"#ddd\">\n";
    for (double t : detail::nice_ticks(x0, x1))
        s += "<line x1=\"" + fixed(px(t)) + "\" y1=\"" + fixed(top) + "\" x2=\"" + fixed(px(t)) + "\" y2=\"" +
             fixed(top + ph) + "\"/><text class=\"xtick\" x=\"" + fixed(px(t)) + "\" y=\"" + fixed(top + ph + 16) +
             "\" text-anchor=\"middle\" stroke=\"none\" fill=\"black\">" + detail::tick_label(t) + "</text>\n";
    for (double t : detail::nice_ticks(y0, y1))
        s += "<line x1=\"" + fixed(left) + "\" y1=\"" + fixed(py(t)) + "\" x2=\"" + fixed(left + pw) + "\" y2=\"" +
             fixed(py(t)) + "\"/><text class=\"ytick\" x=\"" + fixed(left - 6) + "\" y=\"" + fixed(py(t) + 4) +
             "\" text-anchor=\"end\" stroke=\"none\" fill=\"black\">" + detail::tick_label(t) + "</text>\n";
    s += "</g>\n<rect x=\"" + fixed(left) + "\" y=\"" + fixed(top) + "\" width=\"" + fixed(pw) + "\" height=\"" +
         fixed(ph) + "\" fill=\"none\" stroke=\"black\"/>\n";
    s += "<text class=\"xlabel\" x=\"" + fixed(left + pw / 2) + "\" y=\"" + fixed(o.height - 20.0) +
         "\" text-anchor=\"middle\" font-size=\"14\">" + detail::xml_escape(o.x_label) + "</text>\n";
    s += "<text class=\"ylabel\" transform=\"translate(20 " + fixed(top + ph / 2) +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"14\">" + detail::xml_escape(o.y_label) + "</text>\n";
    // All points, then the front on top, joined in order of x.
    std::vector<plot_point> front;
    s += "<g class=\"points\" fill=\"#999\" fill-opacity=\"0.6\">\n";
    for (const auto& p : points) {
        if (p.front) front.push_back(p);
        s += "<circle cx=\"" + fixed(px(p.x)) + "\" cy=\"" + fixed(py(p.y)) + "\" r=\"2.5\"><title>" +
             detail::xml_escape(p.label) + "</title></circle>\n";
    }
    s += "</g>\n";
    std::stable_sort(front.begin(), front.end(), [](const auto& a, const auto& b) { return a.x < b.x; });
    if (front.size() > 1) {
        s += "<polyline class=\"front-line\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" points=\"";
        for (const auto& p : front) s += fixed(px(p.x)) + "," + fixed(py(p.y)) + " ";
        s += "\"/>\n";
    }
    s += "<g class=\"front\" fill=\"#d62728\">\n";
    for (const auto& p : front)
        s += "<circle cx=\"" + fixed(px(p.x)) + "\" cy=\"" + fixed(py(p.y)) + "\" r=\"4.5\"><title>" +
             detail::xml_escape(p.label) + "</title></circle>\n";
    s += "</g>\n<g class=\"baselines\">\n";
    for (const auto& b : baselines) {
        const double cx = px(b.x), cy = py(b.y);
        const bool flip = cx > left + 0.7 * pw;  // label left of the marker near the right edge
        s += "<path d=\"M" + fixed(cx) + " " + fixed(cy - 7) + " L" + fixed(cx + 7) + " " + fixed(cy) + " L" +
             fixed(cx) + " " + fixed(cy + 7) + " L" + fixed(cx - 7) + " " + fixed(cy) +
             " Z\" fill=\"black\"/><text class=\"baseline-label\" x=\"" + fixed(flip ? cx - 9 : cx + 9) + "\" y=\"" +
             fixed(cy - 8) + "\"" + (flip ? " text-anchor=\"end\"" : "") + ">" + detail::xml_escape(b.label) +
             "</text>\n";
    }
    // Legend: one row under the title, above the plot.
    const double ly = top - 14;
    double lx = left;
    auto item = [&](const std::string& marker, const std::string& text) {
        s += marker + "<text x=\"" + fixed(lx + 10) + "\" y=\"" + fixed(ly + 4) + "\">" + text + "</text>\n";
        lx += 24 + 7.0 * double(text.size());
    };
    s += "</g>\n<g class=\"legend\">\n";
    item("<circle cx=\"" + fixed(lx) + "\" cy=\"" + fixed(ly) + "\" r=\"2.5\" fill=\"#999\"/>",
         "evaluated (" + std::to_string(points.size()) + ")");
    item("<circle cx=\"" + fixed(lx) + "\" cy=\"" + fixed(ly) + "\" r=\"4.5\" fill=\"#d62728\"/>",
         "Pareto front (" + std::to_string(front.size()) + ")");
    if (!baselines.empty())
        item("<path d=\"M" + fixed(lx) + " " + fixed(ly - 6) + " l6 6 l-6 6 l-6 -6 Z\" fill=\"black\"/>",
             "baseline (" + std::to_string(baselines.size()) + ")");
    s += "</g>\n</svg>\n";
    return s;
}

}  // namespace archetype
