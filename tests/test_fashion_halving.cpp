// The main job's final-selection helpers (examples/fashion_halving.hpp): rung epochs, rung counts, the
// MAC-band candidates and the planner's cost model, on hand-computed cases.
#include <doctest/doctest.h>

#include <vector>

#include "../examples/fashion_halving.hpp"

using idx = std::vector<std::size_t>;
using vec = std::vector<double>;

TEST_CASE("rung epochs: E/eta^k rounded, at least 1, strictly increasing; rungs so that the last has one") {
    CHECK(fashion::halving_epochs(30, 3, 3.0) == vec{3, 10, 30});
    CHECK(fashion::halving_epochs(25, 3, 3.0) == vec{3, 8, 25});
    CHECK(fashion::halving_epochs(3, 3, 3.0) == vec{1, 3});  // 0.33 and 1 both round to 1
    CHECK(fashion::halving_epochs(1, 3, 3.0) == vec{1});
    CHECK(fashion::halving_rungs(9, 3.0) == 3);   // 9, 3, 1
    CHECK(fashion::halving_rungs(10, 3.0) == 4);  // 10, 4, 2, 1
    CHECK(fashion::halving_rungs(3, 3.0) == 2);
    CHECK(fashion::halving_rungs(1, 3.0) == 1);
}

TEST_CASE("band candidates: the most accurate of each log-spaced MAC band, then the best of the rest") {
    // MACs 1..16 (×1000): with range 16 and 4 bands the band edges are 1, 2, 4, 8, 16 (thousand).
    const idx macs{1000, 1500, 2000, 3000, 5000, 7000, 9000, 16000};
    const vec acc{0.80, 0.85, 0.70, 0.75, 0.90, 0.60, 0.65, 0.50};
    // bands [1,2): 0, 1 -> 1; [2,4): 2, 3 -> 3; [4,8): 4, 5 -> 4; [8,16]: 6, 7 -> 6
    CHECK(fashion::band_candidates(macs, acc, 4, 16.0) == idx{1, 3, 4, 6});
    // range 2: the bands cover [8000, 16000] only: 2 bands [8,11.3), [11.3,16] -> 6, 7; then the best others
    CHECK(fashion::band_candidates(macs, acc, 4, 2.0) == idx{6, 7, 4, 1});
    CHECK(fashion::band_candidates(macs, acc, 20, 16.0).size() == macs.size());  // never more than there are
    CHECK(fashion::band_candidates({}, {}, 3, 8.0).empty());
    CHECK(fashion::band_candidates({5000, 5000}, {0.5, 0.6}, 3, 8.0) == idx{1, 0});  // one size only
}

TEST_CASE("the planner's cost: early rungs spread over the threads, the last beside the references") {
    // 3 candidates of 10, 20, 30 s per epoch, eta 3: rung 0 (2 epochs) all three, rung 1 (6 epochs) the dearest.
    const vec cand{10, 20, 30}, refs{5, 1};
    // rung 0 jobs 60, 40, 20 on 2 threads: 60 | 40 + 20 -> 60; last: 6·30 = 180 | 6·5 + 6·1 = 36 -> 180
    CHECK(fashion::finals_seconds(cand, refs, {2, 6}, 3.0, 2) == doctest::Approx(240));
    // one thread: 120 + (180 + 36)
    CHECK(fashion::finals_seconds(cand, refs, {2, 6}, 3.0, 1) == doctest::Approx(336));
    // a lone early-rung training on 2 threads counts 1.3x faster (one candidate: rung 0 is 60 / 1.3); the
    // last rung's trainings take one thread each (180)
    CHECK(fashion::finals_seconds({30}, {}, {2, 6}, 3.0, 2) == doctest::Approx(60 / 1.3 + 180));
}
