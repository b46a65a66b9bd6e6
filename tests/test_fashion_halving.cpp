// The main job's final-selection helpers (examples/fashion_halving.hpp): rung epochs, rung counts, the
// MAC-band candidates and the planner's cost model, on hand-computed cases.
#include <doctest/doctest.h>

#include <vector>

#include "../examples/fashion_halving.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"
#include "archetype/layers/pool.hpp"
#include "archetype/space/genotype_text.hpp"
#include "archetype/space/search_space.hpp"

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
    const idx params(macs.size(), 10);
    // bands [1,2): 0, 1 -> 1; [2,4): 2, 3 -> 3; [4,8): 4, 5 -> 4; [8,16]: 6, 7 -> 6
    CHECK(fashion::band_candidates(macs, acc, params, 4, 1, 16.0) == idx{1, 3, 4, 6});
    // range 2: the bands cover [8000, 16000] only: 2 bands [8,11.3), [11.3,16] -> 6, 7; then the best others
    CHECK(fashion::band_candidates(macs, acc, params, 4, 1, 2.0) == idx{6, 7, 4, 1});
    CHECK(fashion::band_candidates(macs, acc, params, 20, 1, 16.0).size() == macs.size());  // never more than there are
    CHECK(fashion::band_candidates({}, {}, {}, 3, 1, 8.0).empty());
    CHECK(fashion::band_candidates({5000, 5000}, {0.5, 0.6}, {1, 1}, 3, 1, 8.0) == idx{1, 0});  // one size only
}

TEST_CASE("band candidates, two per band: the favourite, then the most parameters among the better half") {
    // One band (range 1.5 over 4000..6000): accuracies rank 3, 0, 4, 1, 2, 5; the better half is 3, 0, 4.
    const idx macs{4000, 4500, 5000, 5500, 6000, 6000};
    const vec acc{0.85, 0.70, 0.60, 0.90, 0.80, 0.50};
    const idx params{300, 900, 950, 100, 500, 990};
    // favourite 3; the most parameters in the better half: 4 (500), not 5 or 2 (more, but worse half)
    CHECK(fashion::band_candidates(macs, acc, params, 1, 2, 1.5) == idx{3, 4});
    CHECK(fashion::band_candidates(macs, acc, params, 1, 3, 1.5) == idx{3, 4, 0});
    // when the favourite has the most parameters, the next in parameters goes with it
    const idx favourite_largest{300, 900, 950, 999, 500, 990};
    CHECK(fashion::band_candidates(macs, acc, favourite_largest, 1, 2, 1.5) == idx{3, 4});
    // ties in parameters: the more accurate one
    const idx tied{500, 900, 950, 100, 500, 990};
    CHECK(fashion::band_candidates(macs, acc, tied, 1, 2, 1.5) == idx{3, 0});
    // two bands of the earlier case: [1,4) and [4,16]; per band the favourite, then the largest of its half
    const idx m2{1000, 1500, 2000, 3000, 5000, 7000, 9000, 16000};
    const vec a2{0.80, 0.85, 0.70, 0.75, 0.90, 0.60, 0.65, 0.50};
    const idx p2{10, 20, 30, 40, 50, 60, 70, 80};
    // band 1 members 0..3 -> favourite 1, half {1, 0} -> 0; band 2 members 4..7 -> favourite 4, half {4, 6} -> 6
    CHECK(fashion::band_candidates(m2, a2, p2, 2, 2, 16.0) == idx{1, 0, 4, 6});
}

TEST_CASE("rung epochs with a floor: no rung shorter than first_min, except when E itself is shorter") {
    CHECK(fashion::halving_epochs(36, 3, 3.0, 6) == vec{6, 12, 36});
    CHECK(fashion::halving_epochs(21, 2, 3.0, 6) == vec{7, 21});  // above the floor: unchanged
    CHECK(fashion::halving_epochs(12, 3, 3.0, 6) == vec{6, 12});  // 1.3 and 4 both raised to 6
    CHECK(fashion::halving_epochs(4, 3, 3.0, 6) == vec{4});       // E below the floor: one rung of E
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

namespace tiny {  // 1×4×4 inputs; per width C (n: 2, w: 4): conv3 1→C, block skip or conv3 C→C, head gap or flat
namespace at = archetype;
template <int C>
using body = at::sequential<at::conv2d<C, 3, 1, 1, 1, 1, false>,
                            at::choice<"b", at::option<"skip", at::identity>, at::option<"conv", at::conv2d<C, 3, 1, 1, 1, 1, false>>>,
                            at::choice<"head", at::option<"gap", at::sequential<at::global_avg_pool, at::dense<3>>>,
                                       at::option<"flat", at::sequential<at::flatten, at::dense<3>>>>>;
using space = at::search_space<at::shape{1, 4, 4}, at::choice<"width", at::option<"n", body<2>>, at::option<"w", body<4>>>>;
}  // namespace tiny

TEST_CASE("capacity seeds: per width and head, the most parameters within the MAC cap") {
    // params / MACs: stem n 18 / 288, w 36 / 576; block conv n 36 / 576, w 144 / 2304; heads add little
    // (gap: 3C + 3 params) or more (flat: 48C + 3), so each seed takes the conv block when it fits.
    auto g = [](const char* text) { return archetype::parse_text<tiny::space>(text); };
    using list = std::vector<tiny::space::genotype>;
    CHECK(fashion::capacity_seeds<tiny::space>(5000) ==
          list{g("width=n,b=conv,head=gap"), g("width=n,b=conv,head=flat"), g("width=w,b=conv,head=gap"),
               g("width=w,b=conv,head=flat")});
    // 2000 MACs: w's conv block (2304 MACs) no longer fits
    CHECK(fashion::capacity_seeds<tiny::space>(2000) ==
          list{g("width=n,b=conv,head=gap"), g("width=n,b=conv,head=flat"), g("width=w,b=skip,head=gap"),
               g("width=w,b=skip,head=flat")});
    // 500 MACs: nothing of width w fits; n without its block
    CHECK(fashion::capacity_seeds<tiny::space>(500) == list{g("width=n,b=skip,head=gap"), g("width=n,b=skip,head=flat")});
    for (const auto& s : fashion::capacity_seeds<tiny::space>(2000)) CHECK(tiny::space::cost_of(s).macs <= 2000);
}
