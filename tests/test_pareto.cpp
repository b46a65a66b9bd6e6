// Pareto tools: dominance with directions, fronts (duplicates, ties, constraints), crowding distance
// and exact hypervolume against hand-computed values and an independent inclusion–exclusion count.
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>

#include "archetype/search/pareto.hpp"
#include "archetype/core/rng.hpp"

namespace at = archetype;
using at::direction;
using idx = std::vector<std::size_t>;

namespace {
const std::vector<direction> minmin{direction::minimize, direction::minimize};
const std::vector<direction> maxmin{direction::maximize, direction::minimize};
constexpr double inf = std::numeric_limits<double>::infinity();

// 2-D, both minimised: fronts {0,1,2,3,6}, {4,7,8}, {5}. 3 duplicates 1, 6 duplicates 0, 7 ties 2 in y.
const std::vector<at::objective_vector> points{{1, 5}, {2, 3}, {3, 1}, {2, 3}, {3, 4},
                                               {4, 4}, {1, 5}, {5, 1}, {2, 6}};
}  // namespace

TEST_CASE("dominance respects each objective's direction; equal points do not dominate") {
    CHECK(at::dominates({0.9, 3}, {0.8, 3}, maxmin));   // more accurate, same MACs
    CHECK(!at::dominates({0.8, 3}, {0.9, 3}, maxmin));
    CHECK(!at::dominates({0.9, 3}, {0.8, 2}, maxmin));  // trade-off
    CHECK(!at::dominates({0.8, 2}, {0.9, 3}, maxmin));
    CHECK(at::dominates({0.8, 2}, {0.9, 3}, minmin));   // the same points, both minimised
    CHECK(!at::dominates({0.9, 3}, {0.9, 3}, maxmin));  // duplicates
    // constraint domination: feasible beats infeasible whatever the objectives; then smaller violation
    CHECK(at::constrained_dominates({0.1, 9}, 0.0, {0.9, 1}, 0.5, maxmin));
    CHECK(at::constrained_dominates({0.1, 9}, 0.2, {0.9, 1}, 0.5, maxmin));
    CHECK(!at::constrained_dominates({0.9, 1}, 0.5, {0.1, 9}, 0.2, maxmin));
    CHECK(!at::constrained_dominates({0.9, 1}, 0.5, {0.9, 1}, 0.5, maxmin));
    CHECK(at::constrained_dominates({0.9, 1}, 0.0, {0.8, 1}, 0.0, maxmin));
}

TEST_CASE("non-dominated front and fast non-dominated sort on a hand-made set with duplicates and ties") {
    CHECK(at::non_dominated(points, minmin) == idx{0, 1, 2, 3, 6});
    const auto fronts = at::non_dominated_sort(points, minmin);
    REQUIRE(fronts.size() == 3);
    CHECK(fronts[0] == idx{0, 1, 2, 3, 6});
    CHECK(fronts[1] == idx{4, 7, 8});
    CHECK(fronts[2] == idx{5});
    // flipping a direction changes the answer: maximise x, minimise y
    CHECK(at::non_dominated(points, maxmin) == idx{7});
    // infeasible points go behind every feasible one, ordered by violation
    const std::vector<double> viol{0, 0, 0.5, 0, 0, 0, 0, 0.2, 0};
    const auto cf = at::non_dominated_sort(points, minmin, viol);
    REQUIRE(cf.size() == 5);
    CHECK(cf[0] == idx{0, 1, 3, 6});
    CHECK(cf[1] == idx{4, 8});
    CHECK(cf[2] == idx{5});
    CHECK(cf[3] == idx{7});
    CHECK(cf[4] == idx{2});
    CHECK(at::non_dominated(points, minmin, viol) == cf[0]);
    // all infeasible: the least violation forms the first front
    CHECK(at::non_dominated({{1, 1}, {2, 2}, {0, 0}}, minmin, {0.3, 0.1, 0.1}) == idx{1, 2});
    CHECK(at::non_dominated_sort({}, minmin).empty());
}

TEST_CASE("bad points are rejected naming the problem") {
    CHECK_THROWS_WITH_AS(at::non_dominated({{1, 2, 3}}, minmin), doctest::Contains("3 objectives but 2 directions"),
                         at::error);
    CHECK_THROWS_WITH_AS(at::non_dominated_sort({{1, std::nan("")}}, minmin), doctest::Contains("must be finite"),
                         at::error);
    CHECK_THROWS_AS(at::non_dominated({{1, 2}}, minmin, {0.0, 1.0}), at::error);
    CHECK_THROWS_AS(at::hypervolume({{1, 2}}, {3}, minmin), at::error);
}

TEST_CASE("crowding distance: extremes infinite, interior points sum normalised neighbour gaps") {
    // front given out of order inside a larger set: positions must follow `front`
    const std::vector<at::objective_vector> pts{{4, 1.5}, {9, 9}, {1, 5}, {3, 2}, {6, 1}, {2, 3}};
    const idx front{2, 5, 3, 0, 4};  // (1,5) (2,3) (3,2) (4,1.5) (6,1)
    const auto d = at::crowding_distance(pts, front);
    REQUIRE(d.size() == 5);
    CHECK(d[0] == inf);
    CHECK(d[4] == inf);
    // x range 5, y range 4: (2,3): 2/5 + 3/4; (3,2): 2/5 + 1.5/4; (4,1.5): 3/5 + 1/4
    CHECK(d[1] == doctest::Approx(1.15).epsilon(1e-12));
    CHECK(d[2] == doctest::Approx(0.775).epsilon(1e-12));
    CHECK(d[3] == doctest::Approx(0.85).epsilon(1e-12));
    // duplicates share the gap: (0,3) (1,2) (1,2) (3,0)
    const auto dd = at::crowding_distance({{0, 3}, {1, 2}, {1, 2}, {3, 0}}, {0, 1, 2, 3});
    CHECK(dd[0] == inf);
    CHECK(dd[3] == inf);
    CHECK(dd[1] == doctest::Approx(1.0).epsilon(1e-12));  // 1/3 + 2/3
    CHECK(dd[2] == doctest::Approx(1.0).epsilon(1e-12));  // 2/3 + 1/3
    // a constant objective adds nothing; fronts of one or two points are all extremes
    const auto dc = at::crowding_distance({{1, 5}, {2, 5}, {3, 5}}, {0, 1, 2});
    CHECK(dc[1] == doctest::Approx(1.0).epsilon(1e-12));
    CHECK(at::crowding_distance({{1, 5}, {2, 4}}, {0, 1}) == std::vector<double>{inf, inf});
}

TEST_CASE("hypervolume in 2-D by hand, with either direction") {
    // staircase (1,3) (2,2) (3,1) under (4,4): 3·1 + 2·1 + 1·1
    CHECK(at::hypervolume({{1, 3}, {2, 2}, {3, 1}}, {4, 4}, minmin) == 6.0);
    // a dominated point, a duplicate and points outside the reference box change nothing
    CHECK(at::hypervolume({{1, 3}, {2, 2}, {3, 1}, {3, 3}, {2, 2}, {5, 0}, {0, 4}}, {4, 4}, minmin) == 6.0);
    // maximise accuracy, minimise MACs: boxes [0.5,0.9]x[3,4] and [0.5,0.8]x[2,4] overlap in 0.3
    CHECK(at::hypervolume({{0.9, 3}, {0.8, 2}}, {0.5, 4}, maxmin) == doctest::Approx(0.7).epsilon(1e-12));
    CHECK(at::hypervolume({}, {4, 4}, minmin) == 0.0);
    CHECK(at::hypervolume({{2, 2}}, {4, 4}, minmin) == 4.0);
}

TEST_CASE("hypervolume in 3-D by hand") {
    const std::vector<direction> min3(3, direction::minimize);
    // (1,1,3) and (2,2,1) under (4,4,4): 9 + 12 - 4; (3,3,3) is dominated
    CHECK(at::hypervolume({{1, 1, 3}, {2, 2, 1}, {3, 3, 3}}, {4, 4, 4}, min3) == 17.0);
    // three boxes of 6, pairwise overlaps of 2, triple overlap 1: 18 - 6 + 1
    CHECK(at::hypervolume({{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, {4, 4, 4}, min3) == 13.0);
    // the same set with the last objective maximised and mirrored
    const std::vector<direction> mixed{direction::minimize, direction::minimize, direction::maximize};
    CHECK(at::hypervolume({{1, 2, -3}, {2, 3, -1}, {3, 1, -2}}, {4, 4, -4}, mixed) == 13.0);
}

namespace {
// Independent exact hypervolume by inclusion–exclusion over all subsets (minimisation).
double inclusion_exclusion(const std::vector<at::objective_vector>& pts, const at::objective_vector& ref) {
    double total = 0;
    for (unsigned mask = 1; mask < (1u << pts.size()); ++mask) {
        double box = 1;
        int members = 0;
        for (std::size_t m = 0; m < ref.size(); ++m) {
            double corner = -inf;
            for (std::size_t i = 0; i < pts.size(); ++i)
                if (mask >> i & 1u) corner = std::max(corner, pts[i][m]);
            box *= std::max(0.0, ref[m] - corner);
        }
        for (std::size_t i = 0; i < pts.size(); ++i) members += int(mask >> i & 1u);
        total += (members % 2 ? 1 : -1) * box;
    }
    return total;
}
}  // namespace

TEST_CASE("hypervolume in 3-D and 4-D equals inclusion–exclusion on random sets with ties") {
    at::rng r{at::seed{3}};
    for (std::size_t dims : {3u, 4u}) {
        const std::vector<direction> dirs(dims, direction::minimize);
        const at::objective_vector ref(dims, 6.0);
        for (int trial = 0; trial < 40; ++trial) {
            std::vector<at::objective_vector> pts(1 + r.below(8), at::objective_vector(dims));
            for (auto& p : pts)
                for (double& v : p) v = double(r.below(7));  // 0..6: ties, and points on the reference
            const double expected = inclusion_exclusion(pts, ref);
            CHECK(at::hypervolume(pts, ref, dirs) == doctest::Approx(expected).epsilon(1e-12));
        }
    }
}
