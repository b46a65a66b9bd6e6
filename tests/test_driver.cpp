// The search driver: the history does not depend on the thread count or completion order, no
// genotype is evaluated twice, executors, failing evaluators, known results and progress.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "archetype/search/driver.hpp"
#include "archetype/search/nsga2.hpp"
#include "archetype/search/random_search.hpp"
#include "archetype/search/regularized_evolution.hpp"
#include "support/synthetic_spaces.hpp"

namespace at = archetype;
using at::direction;
using synthetic::space12;
using synthetic::space24;

using synthetic::same_history;

namespace {

// Sleeps 0-400 µs depending on the genotype, so parallel completions come back out of order.
template <class G>
void jitter(const G& g) {
    std::this_thread::sleep_for(std::chrono::microseconds(synthetic::mix(g) % 400));
}

at::regularized_evolution_options rea_options(std::size_t batch, std::size_t budget) {
    return {.population = 12, .sample = 4, .budget = budget, .batch = batch};
}

// Completes the jobs of each batch in reverse order, serially, with two objectives.
struct reverse_executor : at::executor<space12::genotype> {
    std::size_t batches = 0;
    void run(const std::vector<space12::genotype>& jobs, const on_done& done) override {
        ++batches;
        for (std::size_t j = jobs.size(); j-- > 0;)
            done(j, at::evaluation{{synthetic::fitness(jobs[j]), synthetic::cost(jobs[j])}}, 0.0);
    }
};
}  // namespace

TEST_CASE("the history is the same for 1, 2 and 4 threads and equals the serial strategy::run") {
    auto evaluate = [](const space12::genotype& g) {
        jitter(g);
        return synthetic::fitness(g);
    };
    for (std::size_t batch : {1u, 8u}) {
        at::regularized_evolution<space12> reference(rea_options(batch, 120), at::seed{5});
        reference.run(evaluate);
        for (std::size_t threads : {1u, 2u, 4u}) {
            CAPTURE(batch);
            CAPTURE(threads);
            at::regularized_evolution<space12> rea(rea_options(batch, 120), at::seed{5});
            at::search_driver driver(rea, {.threads = threads});
            driver.run(evaluate);
            CHECK(same_history(rea, reference));
            CHECK(driver.computed() == rea.distinct_genotypes());
        }
    }
}

TEST_CASE("NSGA-II batches evaluated in reverse order by a custom executor give the serial history") {
    auto both = [](const space12::genotype& g) {
        return at::evaluation{{synthetic::fitness(g), synthetic::cost(g)}};
    };
    at::nsga2<space12> reference({.population = 10, .budget = 90}, at::seed{3});
    reference.run(both);

    at::nsga2<space12> n({.population = 10, .budget = 90}, at::seed{3});
    at::search_driver driver(n);
    reverse_executor ex;
    driver.run(ex);
    CHECK(same_history(n, reference));
    CHECK(ex.batches == 9);  // the initial population, then 8 generations of 10
    CHECK(driver.computed() == n.distinct_genotypes());
}

TEST_CASE("no genotype is evaluated twice: repeats and in-batch duplicates come from the cache") {
    // A 24-genotype space and 200 evaluations: most asks are repeats.
    std::mutex m;
    std::multiset<space24::genotype> calls;
    auto evaluate = [&](const space24::genotype& g) {
        jitter(g);
        std::lock_guard lock(m);
        calls.insert(g);
        return synthetic::fitness(g);
    };
    at::random_search<space24> rs({.budget = 200, .batch = 16}, at::seed{11});
    at::search_driver driver(rs, {.threads = 3});
    driver.run(evaluate);
    CHECK(rs.history().size() == 200);
    CHECK(calls.size() == rs.distinct_genotypes());
    CHECK(std::set<space24::genotype>(calls.begin(), calls.end()).size() == calls.size());
    CHECK(driver.computed() == calls.size());
    CHECK(driver.cache().size() == calls.size());
    CHECK(calls.size() <= 24);
    CHECK(calls.size() >= 20);  // 200 uniform draws over 24 genotypes miss almost none
    for (const auto& h : rs.history()) CHECK(h.result.objectives[0] == synthetic::fitness(h.genotype));
}

TEST_CASE("known results are used instead of evaluating") {
    std::atomic<int> calls{0};
    at::random_search<space24> rs({.budget = 40}, at::seed{2});
    at::search_driver driver(rs);
    for (std::uint16_t a = 0; a < 3; ++a) driver.add_known({a, 0, 0}, at::evaluation{{-1.0}});
    driver.run([&](const space24::genotype& g) {
        ++calls;
        CHECK(!(g[1] == 0 && g[2] == 0));
        return synthetic::fitness(g);
    });
    std::set<space24::genotype> known_told;
    for (const auto& h : rs.history())
        if (h.result.objectives[0] == -1.0) known_told.insert(h.genotype);
    CHECK(!known_told.empty());
    CHECK(std::size_t(calls.load()) == rs.distinct_genotypes() - known_told.size());
}

TEST_CASE("a throwing evaluator stops the run; running it again continues without re-evaluating") {
    std::atomic<int> calls{0};
    std::atomic<bool> fail{true};
    auto evaluate = [&](const space12::genotype& g) {
        if (fail && calls == 25) throw std::runtime_error("evaluation server down");
        ++calls;
        return synthetic::fitness(g);
    };
    at::regularized_evolution<space12> rea(rea_options(4, 80), at::seed{9});
    at::search_driver driver(rea, {.threads = 2});
    CHECK_THROWS_WITH_AS(driver.run(evaluate), "evaluation server down", std::runtime_error);
    CHECK(rea.history().size() < 80);
    fail = false;
    driver.run(evaluate);
    at::regularized_evolution<space12> reference(rea_options(4, 80), at::seed{9});
    reference.run([](const space12::genotype& g) { return synthetic::fitness(g); });
    CHECK(same_history(rea, reference));
    CHECK(std::size_t(calls.load()) == reference.distinct_genotypes());
}

TEST_CASE("invalid evaluations are errors naming the genotype and the fix") {
    at::random_search<space24> rs({.budget = 5});
    at::search_driver driver(rs);
    CHECK_THROWS_WITH_AS(driver.run([](const space24::genotype&) { return std::nan(""); }),
                         doctest::Contains("has a non-finite objective; report a failed candidate"), at::error);
    at::random_search<space24> two({.budget = 5});
    at::search_driver d2(two);
    CHECK_THROWS_WITH_AS(d2.run([](const space24::genotype&) { return at::evaluation{{1.0, 2.0}}; }),
                         doctest::Contains("has 2 objectives but the strategy has 1 directions"), at::error);
    at::random_search<space24> neg({.budget = 5});
    at::search_driver d3(neg);
    CHECK_THROWS_WITH_AS(d3.run([](const space24::genotype&) { return at::evaluation{{1.0}, -1.0}; }),
                         doctest::Contains("has constraint violation -1"), at::error);
}

TEST_CASE("progress lines report done/total, rate and the best so far") {
    std::ostringstream out;
    double now = 0;
    at::random_search<space24> rs({.budget = 30}, at::seed{4});
    at::search_driver driver(
        rs, {.progress = {.style = at::progress_style::lines, .stream = &out, .line_interval = 1.0, .label = "rs",
                          .clock = [&] { return now += 0.25; }}});
    driver.run([](const space24::genotype& g) { return synthetic::fitness(g); });
    const std::string text = out.str();
    std::vector<std::string> lines;
    for (std::istringstream is(text); std::getline(is, lines.emplace_back());) {
    }
    lines.pop_back();
    // One line at the start, then one every 4 updates (1 s at 0.25 s each), and the last.
    REQUIRE(lines.size() >= 8);
    CHECK(lines.front().rfind("rs 0/30 0%", 0) == 0);
    char best[64];
    std::snprintf(best, sizeof best, "best %.6g", rs.history()[rs.best()].result.objectives[0]);
    CHECK(lines.back().rfind("rs 30/30 100% ", 0) == 0);
    CHECK(lines.back().find(" done in 0:0") != std::string::npos);
    CHECK(lines.back().find(best) != std::string::npos);
}
