// Successive halving: who reaches each rung on hand-made score tables (a rank inversion between rungs,
// ties, NaN, a tie margin with a preference), which budgets each evaluation sees, the threads handed to the last survivor, the same
// result on 1 and 3 threads, the cost order, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <mutex>
#include <vector>

#include "archetype/search/successive_halving.hpp"

namespace at = archetype;
using idx = std::vector<std::size_t>;

namespace {

// Candidate c's score at rung k: at rung 0 lower indices look better, later the higher ones overtake
// them (a learning curve that starts slow), so the winner is not rung 0's best.
double curve(std::size_t c, std::size_t k) { return k == 0 ? 10.0 - double(c) : double(c) * double(k); }

struct recorder {
    std::mutex m;
    std::vector<at::halving_step> steps;
    template <class F>
    auto operator()(F f) {
        return [this, f](const at::halving_step& s) {
            std::lock_guard lock(m);
            steps.push_back(s);
            return f(s.candidate, s.rung);
        };
    }
};

}  // namespace

TEST_CASE("rung sizes and geometric budgets follow n, ⌈n/eta⌉, … and max/eta^k") {
    CHECK(at::halving_rung_sizes(9, 3, 3.0) == idx{9, 3, 1});
    CHECK(at::halving_rung_sizes(8, 3, 3.0) == idx{8, 3, 1});
    CHECK(at::halving_rung_sizes(10, 4, 2.0) == idx{10, 5, 3, 2});
    CHECK(at::halving_rung_sizes(2, 3, 3.0) == idx{2, 1, 1});
    const std::vector<double> b = at::geometric_budgets(27, 3, 3);
    REQUIRE(b.size() == 3);
    CHECK(b[0] == doctest::Approx(3));
    CHECK(b[1] == doctest::Approx(9));
    CHECK(b[2] == 27);
}

TEST_CASE("the best third goes on after each rung; the winner is the last rung's best") {
    recorder rec;
    // rung 0 ranks 0,1,…,8, so 0, 1, 2 go on; at rung 1 the score c·1 ranks 2, 1, 0; 2 wins rung 2.
    const at::halving_result r =
        at::successive_halving(9, {.budgets = {1, 3, 9}, .eta = 3.0, .threads = 1, .cost = {}}, rec(curve));
    REQUIRE(r.rungs.size() == 3);
    CHECK(r.rungs[0] == idx{0, 1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(r.rungs[1] == idx{2, 1, 0});
    CHECK(r.rungs[2] == idx{2});
    CHECK(r.winner == 2);
    CHECK(r.scores[2] == std::vector<double>{8.0, 2.0, 4.0});
    CHECK(r.scores[5] == std::vector<double>{5.0});  // stopped after rung 0
    REQUIRE(rec.steps.size() == 9 + 3 + 1);          // each candidate once per rung it reached
    for (const auto& s : rec.steps) {
        CHECK(s.budget == std::vector<double>{1, 3, 9}[s.rung]);
        CHECK(s.previous_budget == (s.rung ? std::vector<double>{1, 3, 9}[s.rung - 1] : 0.0));
        CHECK(s.threads == 1);
    }
}

TEST_CASE("ties go to the lower index, NaN ranks last, and the last survivor gets every thread") {
    recorder rec;
    auto score = [](std::size_t c, std::size_t k) {
        if (c == 0) return std::nan("");                   // diverged
        return k == 0 ? 1.0 : double(c % 2);               // all tie at rung 0
    };
    const at::halving_result r =
        at::successive_halving(5, {.budgets = {1, 2, 4}, .eta = 2.0, .threads = 2, .cost = {}}, rec(score));
    CHECK(r.rungs[0] == idx{1, 2, 3, 4, 0});
    CHECK(r.rungs[1] == idx{1, 3, 2});  // 1 and 3 score 1, 2 scores 0
    CHECK(r.rungs[2] == idx{1, 3});
    CHECK(r.winner == 1);
    for (const auto& s : rec.steps) CHECK(s.threads == 1);  // never fewer candidates than threads
    recorder one;
    const auto last = at::successive_halving(3, {.budgets = {1, 2}, .eta = 3.0, .threads = 2, .cost = {}}, one(curve));
    CHECK(last.rungs[1].size() == 1);
    for (const auto& s : one.steps) CHECK(s.threads == (s.rung == 1 ? 2u : 1u));
}

TEST_CASE("the result is the same on 1 and 3 threads; costs only change the order of evaluation") {
    auto score = [](const at::halving_step& s) { return std::sin(double(s.candidate * 7 + s.rung * 3)); };
    const auto a = at::successive_halving(11, {.budgets = {1, 2, 4, 8}, .eta = 2.0, .threads = 1, .cost = {}}, score);
    const auto b = at::successive_halving(11, {.budgets = {1, 2, 4, 8}, .eta = 2.0, .threads = 3, .cost = {}}, score);
    CHECK(a.rungs == b.rungs);
    CHECK(a.scores == b.scores);
    recorder rec;
    const auto c = at::successive_halving(
        4, {.budgets = {1}, .eta = 3.0, .threads = 1, .cost = {1.0, 5.0, 3.0, 5.0}}, rec(curve));
    REQUIRE(rec.steps.size() == 4);
    CHECK(rec.steps[0].candidate == 1);  // dearest first, ties in index order
    CHECK(rec.steps[1].candidate == 3);
    CHECK(rec.steps[2].candidate == 2);
    CHECK(rec.steps[3].candidate == 0);
    CHECK(c.rungs[0] == idx{0, 1, 2, 3});  // ranked by score, not by cost
}

TEST_CASE("a tie margin lets the preferred candidate among near-ties go on") {
    // rung 0 scores 0.900, 0.899, 0.895, 0.880 and 0.899 (the last a NaN-free twin of candidate 1)
    const std::vector<double> rung0 = {0.900, 0.899, 0.895, 0.880, 0.899};
    auto score = [&](std::size_t c, std::size_t k) { return k == 0 ? rung0[c] : 0.5 + 0.01 * double(c); };
    const std::vector<double> capacity = {1, 2, 5, 9, 2};  // candidate 3 is far behind: outside the margin
    recorder plain, tied;
    const at::halving_result a = at::successive_halving(5, {.budgets = {1, 9}, .eta = 5}, plain(score));
    CHECK(a.rungs[0] == idx{0, 1, 4, 2, 3});
    CHECK(a.winner == 0);
    const at::halving_result b = at::successive_halving(
        5, {.budgets = {1, 9}, .eta = 5, .tie_margin = 0.006, .preference = capacity}, tied(score));
    // within 0.006 of 0.900: 0, 1, 2, 4; by capacity 2 (5), then 1 and 4 (2; 1 and 4 tie, equal scores:
    // the lower index), then 0; 3 (0.880) follows
    CHECK(b.rungs[0] == idx{2, 1, 4, 0, 3});
    CHECK(b.winner == 2);
    CHECK(b.scores[2] == std::vector<double>{0.895, 0.52});
    // a margin of 0 ranks by score, whatever the preference
    recorder zero;
    const at::halving_result z = at::successive_halving(
        5, {.budgets = {1, 9}, .eta = 5, .tie_margin = 0.0, .preference = capacity}, zero(score));
    CHECK(z.rungs[0] == a.rungs[0]);
    auto s = [](const at::halving_step&) { return 0.0; };
    CHECK_THROWS_WITH_AS(at::successive_halving(3, {.budgets = {1}, .tie_margin = 0.01}, s),
                         doctest::Contains("options.preference"), at::error);
    CHECK_THROWS_WITH_AS(at::successive_halving(3, {.budgets = {1}, .tie_margin = -1, .preference = {1, 2, 3}}, s),
                         doctest::Contains("must be >= 0"), at::error);
}

TEST_CASE("bad settings are errors that say what to change") {
    auto s = [](const at::halving_step&) { return 0.0; };
    CHECK_THROWS_WITH_AS(at::successive_halving(0, {.budgets = {1}, .eta = 3, .threads = 1, .cost = {}}, s), doctest::Contains("no candidates"),
                         at::error);
    CHECK_THROWS_WITH_AS(at::successive_halving(3, {.budgets = {}, .eta = 3, .threads = 1, .cost = {}}, s), doctest::Contains("no rungs"), at::error);
    CHECK_THROWS_WITH_AS(at::successive_halving(3, {.budgets = {2, 2}, .eta = 3, .threads = 1, .cost = {}}, s), doctest::Contains("increase strictly"),
                         at::error);
    CHECK_THROWS_WITH_AS(at::successive_halving(3, {.budgets = {1}, .eta = 1.0, .threads = 1, .cost = {}}, s), doctest::Contains("above 1"),
                         at::error);
    CHECK_THROWS_WITH_AS(at::successive_halving(3, {.budgets = {1}, .eta = 3, .threads = 1, .cost = {1, 2}}, s),
                         doctest::Contains("one per candidate"), at::error);
    CHECK_THROWS_AS(at::geometric_budgets(10, 0, 3), at::error);
    auto boom = [](const at::halving_step& st) -> double {
        if (st.candidate == 1) throw at::error("training failed");
        return 0.0;
    };
    CHECK_THROWS_WITH_AS(at::successive_halving(3, {.budgets = {1}, .eta = 3, .threads = 2, .cost = {}}, boom),
                         doctest::Contains("training failed"), at::error);
}
