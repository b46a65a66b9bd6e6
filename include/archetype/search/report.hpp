// archetype/search/report.hpp — a search's Pareto front as CSV and as an SVG plot.
//
// Contract: pareto_front_csv(s, o) is a table of the strategy's Pareto front (strategy::pareto_front:
// constraint-non-dominated, each genotype once, in history order) with the columns index (history
// index), genotype (o.describe, default to_text<Space>), one column per objective (named by
// o.objective_names, default "objective 0", ...), violation, and every metric name any front entry
// has that is not an objective's name (sorted; empty where an entry lacks it). pareto_plot_svg(s, o) plots every distinct evaluated
// genotype (its first evaluation) with objective o.x on the horizontal and o.y on the vertical axis,
// each multiplied by o.x_scale / o.y_scale (e.g. 1e-6 for millions), the front highlighted, and
// o.baselines (already in plotted units) marked and labelled; axis labels default to the objective
// names. write_pareto_report writes both files atomically. A wrong objective index or a name list of
// the wrong length is an archetype::error.
#pragma once

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "archetype/core/atomic_file.hpp"
#include "archetype/io/pareto_report.hpp"
#include "archetype/search/strategy.hpp"
#include "archetype/space/genotype_text.hpp"

namespace archetype {

template <class Genotype>
struct pareto_report_options {
    std::vector<std::string> objective_names{};          // one per objective; empty: "objective 0", ...
    std::size_t x = 1, y = 0;                             // objectives on the axes
    double x_scale = 1.0, y_scale = 1.0;                  // plotted value = objective × scale
    plot_options plot{};                                  // title; empty axis labels take the names
    std::vector<plot_point> baselines{};                  // in plotted units
    std::function<std::string(const Genotype&)> describe{};  // empty: to_text<Space>
};

namespace detail {
template <class Strategy>
std::vector<std::string> objective_names(const Strategy& s,
                                         const pareto_report_options<typename Strategy::genotype>& o) {
    const std::size_t n = s.directions().size();
    if (o.objective_names.empty()) {
        std::vector<std::string> names;
        for (std::size_t k = 0; k < n; ++k) names.push_back("objective " + std::to_string(k));
        return names;
    }
    if (o.objective_names.size() != n)
        throw error("pareto report: " + std::to_string(o.objective_names.size()) + " objective names for " +
                    std::to_string(n) + " objectives; give one name per objective");
    return o.objective_names;
}
template <class Strategy>
std::string describe(const Strategy&, const pareto_report_options<typename Strategy::genotype>& o,
                     const typename Strategy::genotype& g) {
    return o.describe ? o.describe(g) : to_text<typename Strategy::space_type>(g);
}
}  // namespace detail

template <class Strategy>
std::string pareto_front_csv(const Strategy& s, const pareto_report_options<typename Strategy::genotype>& o = {}) {
    const auto names = detail::objective_names(s, o);
    const auto front = s.pareto_front();
    std::set<std::string> metric_names;
    for (std::size_t i : front)
        for (const auto& [name, v] : s.history()[i].result.metrics)
            if (std::find(names.begin(), names.end(), name) == names.end()) metric_names.insert(name);
    std::vector<std::string> header{"index", "genotype"};
    header.insert(header.end(), names.begin(), names.end());
    header.push_back("violation");
    header.insert(header.end(), metric_names.begin(), metric_names.end());
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i : front) {
        const auto& h = s.history()[i];
        std::vector<std::string> r{std::to_string(i), detail::describe(s, o, h.genotype)};
        for (double v : h.result.objectives) r.push_back(format_number(v));
        r.push_back(format_number(h.result.violation));
        for (const auto& m : metric_names) {
            const auto it = h.result.metrics.find(m);
            r.push_back(it == h.result.metrics.end() ? "" : format_number(it->second));
        }
        rows.push_back(std::move(r));
    }
    return to_csv(header, rows);
}

template <class Strategy>
std::string pareto_plot_svg(const Strategy& s, const pareto_report_options<typename Strategy::genotype>& o = {}) {
    const auto names = detail::objective_names(s, o);
    if (o.x >= names.size() || o.y >= names.size())
        throw error("pareto report: axis objectives " + std::to_string(o.x) + " and " + std::to_string(o.y) +
                    " but there are " + std::to_string(names.size()) + " objectives");
    const auto front = s.pareto_front();
    const std::set<std::size_t> on_front(front.begin(), front.end());
    std::vector<plot_point> points;
    for (std::size_t i = 0; i < s.history().size(); ++i) {
        const auto& h = s.history()[i];
        if (s.lookup(h.genotype) != &h.result) continue;  // a repeat: plotted once
        points.push_back({h.result.objectives[o.x] * o.x_scale, h.result.objectives[o.y] * o.y_scale,
                          detail::describe(s, o, h.genotype), on_front.contains(i)});
    }
    plot_options p = o.plot;
    if (p.x_label.empty()) p.x_label = names[o.x];
    if (p.y_label.empty()) p.y_label = names[o.y];
    return pareto_svg(points, o.baselines, p);
}

template <class Strategy>
void write_pareto_report(const Strategy& s, const std::filesystem::path& csv, const std::filesystem::path& svg,
                         const pareto_report_options<typename Strategy::genotype>& o = {}) {
    write_file_atomically(csv, pareto_front_csv(s, o));
    write_file_atomically(svg, pareto_plot_svg(s, o));
}

}  // namespace archetype
