// Search checkpoints: the whole state (strategy, rng, history, cache) round trips bit-exactly, a
// search stopped at any evaluation resumes to the uninterrupted history, and bad checkpoints are
// errors naming the file.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

#include "archetype/search/driver.hpp"
#include "archetype/search/nsga2.hpp"
#include "archetype/search/regularized_evolution.hpp"
#include "support/temp_dir.hpp"
#include "support/synthetic_spaces.hpp"

namespace at = archetype;
namespace fs = std::filesystem;
using synthetic::space12;
using G = space12::genotype;

using synthetic::same_history;

namespace {
using test_support::temp_dir;

// Two objectives and metrics that exercise the text format: an irrational, a tiny number, infinity.
at::evaluation rich(const G& g) {
    const double f = synthetic::fitness(g);
    return {{f / 3.0, synthetic::cost(g) * 1e-300},
            f > 20 ? 0.0 : (20 - f) / 7.0,
            {{"third", f / 3.0}, {"tiny", 5e-324 * f}, {"inf", HUGE_VAL}, {"name with spaces", -0.0}}};
}

at::regularized_evolution_options reo(std::size_t population, std::size_t sample, std::size_t budget,
                                      std::size_t batch = 1) {
    return {.population = population, .sample = sample, .budget = budget,
            .directions = {at::direction::maximize, at::direction::minimize}, .batch = batch};
}

at::nsga2_options nsga(std::size_t budget) { return {.population = 8, .offspring = 6, .budget = budget}; }

at::evaluation rich24(const synthetic::space24::genotype& g) { return {{synthetic::fitness(g), 0.0}}; }

struct stop_after {
    int left;
};
}  // namespace

TEST_CASE("save_search/load_search round trip the strategy and cache bit-exactly, and the run continues") {
    at::nsga2<space12> a(nsga(60), at::seed{21});
    at::evaluation_cache<G> cache;
    // Run 23 evaluations by hand (inside a generation), caching a result not told yet too.
    for (int told = 0; told < 23;) {
        for (const G& g : a.ask()) {
            if (told == 23) break;
            cache[g] = {rich(g), 0.125 * told};
            a.tell(g, rich(g));
            ++told;
        }
    }
    const G extra = a.untold().at(1);
    cache[extra] = {rich(extra), 9.5};
    std::ostringstream os;
    at::save_search(os, a, cache, "run-1");

    at::nsga2<space12> b(nsga(60), at::seed{999});  // another seed: the checkpoint's rng words win
    at::evaluation_cache<G> loaded;
    std::istringstream is(os.str());
    at::load_search(is, b, loaded, "run-1");
    CHECK(same_history(a, b));
    CHECK(b.untold() == a.untold());
    REQUIRE(loaded.size() == cache.size());
    for (const auto& [g, c] : cache) {
        const auto& d = loaded.at(g);
        CHECK(d.seconds == c.seconds);
        CHECK(d.result.objectives == c.result.objectives);
        CHECK(d.result.violation == c.result.violation);
        CHECK(d.result.metrics == c.result.metrics);  // 5e-324 and inf survive
    }
    std::ostringstream again;
    at::save_search(again, b, loaded, "run-1");
    CHECK(again.str() == os.str());

    a.run(rich);
    b.run(rich);
    CHECK(same_history(a, b));
}

TEST_CASE("a driver stopped after any evaluation resumes from its checkpoint to the uninterrupted history") {
    temp_dir dir("ckpt_resume");
    at::regularized_evolution<space12> reference(reo(10, 3, 70, 4),
                                                 at::seed{8});
    reference.run(rich);
    REQUIRE(reference.distinct_genotypes() > 56);
    for (int stop : {0, 1, 9, 10, 33, 56}) {
        CAPTURE(stop);
        const fs::path ckpt = dir.path / ("s" + std::to_string(stop) + ".ckpt");
        const fs::path log = dir.path / ("s" + std::to_string(stop) + ".jsonl");
        std::atomic<int> calls{0};
        auto evaluate = [&](const G& g) {
            if (calls == stop) throw stop_after{stop};
            ++calls;
            return rich(g);
        };
        {
            at::regularized_evolution<space12> rea(reo(10, 3, 70, 4), at::seed{8});
            at::search_driver d(rea, {.threads = 2, .checkpoint = ckpt, .log = log, .tag = "t"});
            CHECK_THROWS_AS(d.run(evaluate), stop_after);
        }
        const int first_session = calls.load();
        CHECK((first_session == stop || first_session == stop + 1));  // the other thread may finish one
        calls = -1000000;  // no further stop
        // Resumed, the checkpoint's rng words replace the seed; with nothing computed there is no checkpoint.
        at::regularized_evolution<space12> rea(reo(10, 3, 70, 4), at::seed{first_session ? 1234u : 8u});
        at::search_driver d(rea, {.threads = 2, .checkpoint = ckpt, .log = log, .tag = "t"});
        d.run(evaluate);
        CHECK(d.resumed() == (first_session > 0));
        CHECK(same_history(rea, reference));
        CHECK(std::size_t(first_session) + d.computed() == reference.distinct_genotypes());  // nothing redone
        const auto lines = at::read_search_log(log);
        REQUIRE(lines.size() == 70);
        for (std::size_t i = 0; i < lines.size(); ++i) CHECK(lines[i] == d.log_record(i));
    }
}

TEST_CASE("a larger budget on resume extends a finished search exactly") {
    temp_dir dir("ckpt_extend");
    const fs::path ckpt = dir.path / "n.ckpt";
    at::nsga2<space12> reference(nsga(80), at::seed{6});
    reference.run(rich);
    {
        at::nsga2<space12> n(nsga(38), at::seed{6});
        at::search_driver(n, {.checkpoint = ckpt}).run(rich);
        CHECK(n.history().size() == 38);
    }
    at::nsga2<space12> n(nsga(80), at::seed{6});
    at::search_driver d(n, {.checkpoint = ckpt});
    d.run(rich);
    CHECK(same_history(n, reference));
}

TEST_CASE("a checkpoint torn mid-write is never seen: the last complete one is resumed, stale temporaries go") {
    temp_dir dir("ckpt_torn");
    const fs::path ckpt = dir.path / "r.ckpt";
    at::regularized_evolution<space12> rea(reo(6, 2, 20), at::seed{3});
    at::search_driver(rea, {.checkpoint = ckpt}).run(rich);
    // A dead writer's half-written temporary (the pid of a reaped child) and a live one (ours).
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ::waitpid(child, nullptr, 0);
    const fs::path dead = dir.path / ("r.ckpt.tmp." + std::to_string(child) + ".0");
    const fs::path live = dir.path / ("r.ckpt.tmp." + std::to_string(::getpid()) + ".7");
    std::ofstream(dead) << "archetype-search 1\ntag 0 \narchetype-strategy regularized_evolution 12 \nrng 1 2";
    std::ofstream(live) << "partial";
    CHECK(at::remove_stale_temporaries(ckpt) == 1);
    CHECK(!fs::exists(dead));
    CHECK(fs::exists(live));

    at::regularized_evolution<space12> again(reo(6, 2, 20), at::seed{3});
    at::search_driver d(again, {.checkpoint = ckpt});
    d.run(rich);
    CHECK(d.resumed());
    CHECK(d.computed() == 0);
    CHECK(same_history(rea, again));
}

TEST_CASE("checkpoints of another tag, options or space, and corrupt ones, are errors naming the file") {
    temp_dir dir("ckpt_bad");
    const fs::path ckpt = dir.path / "x.ckpt";
    {
        at::regularized_evolution<space12> rea(reo(6, 2, 12), at::seed{3});
        at::search_driver(rea, {.checkpoint = ckpt, .tag = "alpha"}).run(rich);
    }
    auto resume = [&](const at::regularized_evolution_options& o, const std::string& tag) {
        at::regularized_evolution<space12> rea(o, at::seed{3});
        at::search_driver(rea, {.checkpoint = ckpt, .tag = tag}).run(rich);
    };
    CHECK_THROWS_WITH_AS(resume(reo(6, 2, 12), "beta"),
                         doctest::Contains("written for the run tagged \"alpha\", but this run is tagged \"beta\""),
                         at::error);
    CHECK_THROWS_WITH_AS(resume(reo(7, 2, 12), "alpha"),
                         doctest::Contains("options (population, sample"), at::error);
    CHECK_NOTHROW(resume(reo(6, 2, 12), "alpha"));
    {
        at::regularized_evolution<synthetic::space24> other(reo(6, 2, 12));
        CHECK_THROWS_WITH_AS(at::search_driver(other, {.checkpoint = ckpt, .tag = "alpha"}).run(rich24),
                             doctest::Contains("the number of decisions differs from the space's"), at::error);
    }
    const auto bytes = at::read_file(ckpt);
    const std::string text(bytes.begin(), bytes.end());
    auto corrupt = [&](const std::string& bad) {
        at::write_file_atomically(ckpt, bad);
        try {
            resume(reo(6, 2, 12), "alpha");
        } catch (const at::error& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    const std::string head = "archetype: search checkpoint '" + ckpt.string() + "': checkpoint: ";
    CHECK(corrupt(text.substr(0, text.size() / 2)).rfind(head, 0) == 0);
    CHECK(corrupt(text.substr(0, text.size() - 11)) == head + "expected \"end-search\" but found \"\"; the data is "
                                                            "truncated, corrupt, or not from this strategy and space "
                                                            "(or delete the file to start afresh)");
    std::string flipped = text;
    flipped.replace(flipped.find("\nrng "), 5, "\nrnx ");
    CHECK(corrupt(flipped).find("expected \"rng\" but found \"rnx\"") != std::string::npos);
    std::string big = text;
    big.replace(big.find("\ncache ") + 7, 0, "1 9 9 9 9 9 9 9 9 9 9 9 9 ");  // a cache entry with value 9 > 3
    CHECK(corrupt(big).find("cache: genotype: decision \"d00\" has value 9 but allows 0..3") != std::string::npos);
}
