// archetype/search/pareto.hpp — Pareto dominance, fronts, crowding distance and exact hypervolume.
//
// Contract: a point is a vector of objective values with one `direction` per objective (maximise
// accuracy, minimise MACs, ...); nothing here assumes all objectives point the same way. a dominates
// b when a is no worse than b in every objective and strictly better in at least one, so equal points
// (duplicates) never dominate each other and share a front. Constraint domination (Deb 2002): a
// feasible point (violation <= 0) dominates an infeasible one; of two infeasible points the smaller
// violation dominates; two feasible points compare by objectives. Fronts list point indices in
// increasing order. Crowding distance follows Deb et al. (2002): per objective, the two extreme points
// of the front (the first and last after a stable sort by value) are infinite, and an interior point
// adds (next - previous) / (max - min); an objective with max == min adds nothing. Hypervolume is
// exact: the measure of the union of the boxes between each point and the reference point; points not
// strictly better than the reference in every objective add nothing. 2-D is a sweep (n log n); 3-D and
// above slice along the last objective (HSO), fine for fronts of a few hundred points. Points of the
// wrong length or with non-finite values are an archetype::error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "archetype/core/error.hpp"

namespace archetype {

enum class direction : std::uint8_t { minimize, maximize };

using objective_vector = std::vector<double>;

namespace detail {

inline void check_point(const objective_vector& p, const std::vector<direction>& dirs, const char* what) {
    if (dirs.empty()) throw error(std::string(what) + ": no objective directions were given; give one per objective");
    if (p.size() != dirs.size())
        throw error(std::string(what) + ": a point has " + std::to_string(p.size()) + " objectives but " +
                    std::to_string(dirs.size()) + " directions were given; give one direction per objective");
    for (double v : p)
        if (!std::isfinite(v))
            throw error(std::string(what) + ": an objective value is " + std::to_string(v) +
                        "; objectives must be finite (report a failed evaluation as a constraint violation)");
}

inline void check_points(const std::vector<objective_vector>& pts, const std::vector<direction>& dirs,
                         const std::vector<double>& violations, const char* what) {
    for (const auto& p : pts) check_point(p, dirs, what);
    if (!violations.empty() && violations.size() != pts.size())
        throw error(std::string(what) + ": " + std::to_string(violations.size()) + " violations for " +
                    std::to_string(pts.size()) + " points; give one per point or none");
}

inline bool no_worse(double a, double b, direction d) { return d == direction::maximize ? a >= b : a <= b; }
inline bool better(double a, double b, direction d) { return d == direction::maximize ? a > b : a < b; }

}  // namespace detail

// a is no worse than b in every objective and strictly better in at least one.
inline bool dominates(const objective_vector& a, const objective_vector& b, const std::vector<direction>& dirs) {
    bool strictly = false;
    for (std::size_t m = 0; m < dirs.size(); ++m) {
        if (!detail::no_worse(a[m], b[m], dirs[m])) return false;
        strictly = strictly || detail::better(a[m], b[m], dirs[m]);
    }
    return strictly;
}

// Deb's constraint domination; a violation > 0 marks an infeasible point.
inline bool constrained_dominates(const objective_vector& a, double violation_a, const objective_vector& b,
                                  double violation_b, const std::vector<direction>& dirs) {
    const bool fa = !(violation_a > 0), fb = !(violation_b > 0);
    if (fa != fb) return fa;
    if (!fa) return violation_a < violation_b;
    return dominates(a, b, dirs);
}

// Indices of the points no other point (constraint-)dominates, in increasing order. O(n² m) time,
// O(n) memory. `violations` may be empty (all feasible).
inline std::vector<std::size_t> non_dominated(const std::vector<objective_vector>& pts,
                                              const std::vector<direction>& dirs,
                                              const std::vector<double>& violations = {}) {
    detail::check_points(pts, dirs, violations, "non_dominated");
    auto viol = [&](std::size_t i) { return violations.empty() ? 0.0 : violations[i]; };
    std::vector<std::size_t> front;
    for (std::size_t i = 0; i < pts.size(); ++i) {
        bool dominated = false;
        for (std::size_t j = 0; j < pts.size() && !dominated; ++j)
            dominated = j != i && constrained_dominates(pts[j], viol(j), pts[i], viol(i), dirs);
        if (!dominated) front.push_back(i);
    }
    return front;
}

// Fast non-dominated sort (Deb et al. 2002): fronts[0] is the non-dominated set, fronts[k] is
// non-dominated once fronts[0..k) are removed. Every index appears in exactly one front.
inline std::vector<std::vector<std::size_t>> non_dominated_sort(const std::vector<objective_vector>& pts,
                                                                const std::vector<direction>& dirs,
                                                                const std::vector<double>& violations = {}) {
    detail::check_points(pts, dirs, violations, "non_dominated_sort");
    const std::size_t n = pts.size();
    auto viol = [&](std::size_t i) { return violations.empty() ? 0.0 : violations[i]; };
    std::vector<std::vector<std::size_t>> dominated_by(n);  // dominated_by[p]: the points p dominates
    std::vector<std::size_t> count(n, 0);                   // how many points dominate p
    for (std::size_t p = 0; p < n; ++p)
        for (std::size_t q = p + 1; q < n; ++q) {
            if (constrained_dominates(pts[p], viol(p), pts[q], viol(q), dirs)) {
                dominated_by[p].push_back(q);
                ++count[q];
            } else if (constrained_dominates(pts[q], viol(q), pts[p], viol(p), dirs)) {
                dominated_by[q].push_back(p);
                ++count[p];
            }
        }
    std::vector<std::vector<std::size_t>> fronts;
    std::vector<std::size_t> current;
    for (std::size_t p = 0; p < n; ++p)
        if (count[p] == 0) current.push_back(p);
    while (!current.empty()) {
        std::vector<std::size_t> next;
        for (std::size_t p : current)
            for (std::size_t q : dominated_by[p])
                if (--count[q] == 0) next.push_back(q);
        std::sort(next.begin(), next.end());
        fronts.push_back(std::move(current));
        current = std::move(next);
    }
    return fronts;
}

// Crowding distance of each member of `front` (indices into pts), aligned with `front`.
inline std::vector<double> crowding_distance(const std::vector<objective_vector>& pts,
                                             const std::vector<std::size_t>& front) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    const std::size_t n = front.size();
    std::vector<double> d(n, 0.0);
    if (n == 0) return d;
    const std::size_t m_count = pts[front[0]].size();
    std::vector<std::size_t> order(n);
    for (std::size_t m = 0; m < m_count; ++m) {
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return pts[front[a]][m] < pts[front[b]][m]; });
        d[order.front()] = inf;
        d[order.back()] = inf;
        const double range = pts[front[order.back()]][m] - pts[front[order.front()]][m];
        if (!(range > 0)) continue;
        for (std::size_t k = 1; k + 1 < n; ++k)
            d[order[k]] += (pts[front[order[k + 1]]][m] - pts[front[order[k - 1]]][m]) / range;
    }
    return d;
}

namespace detail {

// Hypervolume of points (all minimised, all strictly below ref) in d = ref.size() dimensions.
inline double hypervolume_min(std::vector<objective_vector> pts, const objective_vector& ref) {
    const std::size_t d = ref.size();
    if (pts.empty()) return 0.0;
    if (d == 1) {
        double lo = pts[0][0];
        for (const auto& p : pts) lo = std::min(lo, p[0]);
        return ref[0] - lo;
    }
    if (d == 2) {
        std::sort(pts.begin(), pts.end());  // by x, then y
        double volume = 0.0, ceiling = ref[1];
        for (const auto& p : pts) {
            if (p[1] < ceiling) {
                volume += (ref[0] - p[0]) * (ceiling - p[1]);
                ceiling = p[1];
            }
        }
        return volume;
    }
    // Slice along the last objective: between consecutive levels, the section is the (d-1)-D
    // hypervolume of the points at or below the lower level.
    std::sort(pts.begin(), pts.end(), [&](const auto& a, const auto& b) { return a[d - 1] < b[d - 1]; });
    const objective_vector sub_ref(ref.begin(), ref.end() - 1);
    std::vector<objective_vector> section;
    double volume = 0.0;
    for (std::size_t i = 0; i < pts.size(); ++i) {
        section.emplace_back(pts[i].begin(), pts[i].end() - 1);
        const double top = i + 1 < pts.size() ? pts[i + 1][d - 1] : ref[d - 1];
        if (top > pts[i][d - 1]) volume += hypervolume_min(section, sub_ref) * (top - pts[i][d - 1]);
    }
    return volume;
}

}  // namespace detail

// Exact hypervolume dominated by pts and bounded by `reference` (one value per objective, worse than
// the points that should count).
inline double hypervolume(const std::vector<objective_vector>& pts, const objective_vector& reference,
                          const std::vector<direction>& dirs) {
    detail::check_point(reference, dirs, "hypervolume (reference point)");
    detail::check_points(pts, dirs, {}, "hypervolume");
    auto as_min = [&](const objective_vector& p) {
        objective_vector q(p.size());
        for (std::size_t m = 0; m < p.size(); ++m) q[m] = dirs[m] == direction::maximize ? -p[m] : p[m];
        return q;
    };
    const objective_vector ref = as_min(reference);
    std::vector<objective_vector> inside;
    for (const auto& p : pts) {
        objective_vector q = as_min(p);
        bool counts = true;
        for (std::size_t m = 0; m < q.size(); ++m) counts = counts && q[m] < ref[m];
        if (counts) inside.push_back(std::move(q));
    }
    return detail::hypervolume_min(std::move(inside), ref);
}

}  // namespace archetype
