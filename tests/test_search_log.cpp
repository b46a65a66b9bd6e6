// Search logs: appending, cutting back to a checkpoint (extra lines, torn lines), the driver's lines
// and their reconciliation on resume, and progress reporting.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <unistd.h>

#include "archetype/search/driver.hpp"
#include "archetype/search/regularized_evolution.hpp"
#include "support/temp_dir.hpp"
#include "support/synthetic_spaces.hpp"

namespace at = archetype;
namespace fs = std::filesystem;
using at::json;
using G = synthetic::space24::genotype;

namespace {
using test_support::temp_dir;
std::string contents(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
json rec(int i) { return json::object({{"index", i}, {"v", i * 0.5}}); }
}  // namespace

TEST_CASE("a log appends one line per record and keeps only `keep` complete lines on reopening") {
    temp_dir dir("log_basic");
    const fs::path p = dir.path / "a.jsonl";
    {
        at::search_log log(p, 0);
        CHECK(log.records() == 0);
        for (int i = 0; i < 5; ++i) log.append(rec(i));
        CHECK(log.records() == 5);
        CHECK(contents(p) == "{\"index\":0,\"v\":0}\n{\"index\":1,\"v\":0.5}\n{\"index\":2,\"v\":1}\n"
                             "{\"index\":3,\"v\":1.5}\n{\"index\":4,\"v\":2}\n");
    }
    {
        at::search_log log(p, 3);  // a checkpoint that holds 3 entries: lines 4 and 5 go
        CHECK(log.records() == 3);
        log.append(rec(30));
    }
    const auto lines = at::read_search_log(p);
    REQUIRE(lines.size() == 4);
    CHECK(lines[2] == rec(2));
    CHECK(lines[3] == rec(30));
    {
        at::search_log log(p, 10);  // fewer lines than the checkpoint: all kept, the caller appends
        CHECK(log.records() == 4);
    }
    at::search_log(p, 0);
    CHECK(contents(p).empty());
}

TEST_CASE("a torn last line (a write cut short) is dropped by readers and cut on reopening") {
    temp_dir dir("log_torn");
    const fs::path p = dir.path / "t.jsonl";
    std::ofstream(p) << "{\"index\":0}\n{\"index\":1}\n{\"ind";
    CHECK(at::read_search_log(p).size() == 2);
    {
        at::search_log log(p, 5);
        CHECK(log.records() == 2);
        log.append(rec(2));
    }
    CHECK(contents(p) == "{\"index\":0}\n{\"index\":1}\n{\"index\":2,\"v\":1}\n");
    std::ofstream(p) << "{\"index\":0}\n{\"index\":1}\n";  // exactly at a line end: nothing torn
    CHECK(at::search_log(p, 2).records() == 2);
    CHECK(contents(p) == "{\"index\":0}\n{\"index\":1}\n");
}

TEST_CASE("a corrupt kept line, an unwritable path and a missing file are errors naming the file") {
    temp_dir dir("log_bad");
    const fs::path p = dir.path / "b.jsonl";
    std::ofstream(p) << "{\"index\":0}\n{\"index\" 1}\n";
    CHECK_THROWS_WITH_AS(at::search_log(p, 2), doctest::Contains((p.string() + ":2:10: expected ':'").c_str()), at::error);
    CHECK(at::search_log(p, 1).records() == 1);  // the bad line is past `keep`: cut without reading
    CHECK_THROWS_WITH_AS(at::search_log(dir.path / "no" / "dir.jsonl", 0),
                         doctest::Contains(("search log '" + (dir.path / "no" / "dir.jsonl").string() +
                                            "': open failed: No such file or directory")
                                               .c_str()),
                         at::error);
    CHECK_THROWS_AS(at::read_search_log(dir.path / "missing.jsonl"), at::error);
}

namespace {
at::regularized_evolution_options reo(std::size_t budget) { return {.population = 5, .sample = 2, .budget = budget}; }
double fit(const G& g) { return synthetic::fitness(g) / 4.0; }
}  // namespace

TEST_CASE("the driver logs every history entry once, repeats marked, with the genotype's text") {
    temp_dir dir("log_driver");
    const fs::path log = dir.path / "d.jsonl";
    at::regularized_evolution<synthetic::space24> rea(reo(40), at::seed{1});
    at::search_driver(rea, {.log = log}).run([](const G& g) {
        return at::evaluation{{fit(g)}, 0.0, {{"nan", std::nan("")}, {"x", 2.5}}};
    });
    const auto lines = at::read_search_log(log);
    REQUIRE(lines.size() == 40);
    std::set<G> seen;
    for (std::size_t i = 0; i < 40; ++i) {
        const auto& h = rea.history()[i];
        const json& l = lines[i];
        CHECK(l.at("index").as_integer() == std::int64_t(i));
        CHECK(at::parse_text<synthetic::space24>(l.at("genotype").as_string()) == h.genotype);
        CHECK(l.at("objectives").size() == 1);
        CHECK(l.at("objectives")[0].as_number() == fit(h.genotype));
        CHECK(l.at("violation").as_number() == 0.0);
        CHECK(l.at("metrics").at("nan").is_null());
        CHECK(l.at("metrics").at("x").as_number() == 2.5);
        const bool repeat = !seen.insert(h.genotype).second;
        CHECK(l.at("repeat").as_bool() == repeat);
        CHECK(l.at("seconds").as_number() >= 0.0);
        if (repeat) CHECK(l.at("seconds").as_number() == 0.0);
    }
    CHECK(seen.size() < 40);  // 24 genotypes: there were repeats
    CHECK(lines[0].dump().rfind("{\"index\":0,\"genotype\":\"a=", 0) == 0);
}

TEST_CASE("on resume the log is made to agree with the checkpoint: extra lines cut, missing lines written") {
    temp_dir dir("log_agree");
    const fs::path ckpt = dir.path / "c.ckpt", log = dir.path / "c.jsonl";
    at::regularized_evolution<synthetic::space12> reference({.population = 6, .sample = 2, .budget = 30},
                                                            at::seed{4});
    at::search_driver ref_driver(reference, {});
    ref_driver.run(synthetic::fitness<synthetic::space12::genotype>);

    auto run = [&](std::size_t budget) {
        at::regularized_evolution<synthetic::space12> rea({.population = 6, .sample = 2, .budget = budget},
                                                          at::seed{4});
        at::search_driver d(rea, {.checkpoint = ckpt, .log = log});
        d.run(synthetic::fitness<synthetic::space12::genotype>);
        return at::read_search_log(log);
    };
    REQUIRE(run(12).size() == 12);
    // A crash after the log line but before the checkpoint: simulate a line the checkpoint lacks
    // (and a torn one after it).
    { std::ofstream(log, std::ios::app) << "{\"index\":12,\"genotype\":\"stale\"}\n{\"index\":13,"; }
    auto lines = run(20);
    REQUIRE(lines.size() == 20);
    // A crash after the checkpoint but before the log lines: remove the last 5 lines.
    std::string text = contents(log);
    for (int k = 0; k < 5; ++k) text.erase(text.rfind('\n', text.size() - 2) + 1);
    std::ofstream(log, std::ios::trunc) << text;
    REQUIRE(at::read_search_log(log).size() == 15);
    lines = run(30);
    REQUIRE(lines.size() == 30);
    for (std::size_t i = 0; i < 30; ++i) {
        json a = lines[i], b = ref_driver.log_record(i);
        a.set("seconds", 0);  // wall times differ between the runs
        b.set("seconds", 0);
        CHECK(a == b);
    }
    // A log from another run is refused rather than overwritten.
    std::ofstream(log, std::ios::trunc) << "{\"index\":0,\"genotype\":\"someone else's\"}\n";
    CHECK_THROWS_WITH_AS(run(30), doctest::Contains("line 1 differs from history entry 0 of the checkpoint"),
                         at::error);
}

TEST_CASE("progress: durations, rates, the bar and plain lines at most every interval") {
    CHECK(at::format_duration(0) == "0:00");
    CHECK(at::format_duration(59.4) == "0:59");
    CHECK(at::format_duration(61) == "1:01");
    CHECK(at::format_duration(3600 * 2 + 3 * 60 + 9) == "2:03:09");
    CHECK(at::format_duration(-1) == "--:--");
    CHECK(at::format_duration(HUGE_VAL) == "--:--");
    CHECK(at::format_rate(12.34) == "12.3/s");
    CHECK(at::format_rate(0.5) == "30/min");
    CHECK(at::format_rate(0) == "-/s");

    std::ostringstream bar_out;
    double t = 0;
    at::progress bar(40, {.style = at::progress_style::bar, .stream = &bar_out, .line_interval = 5, .bar_width = 10,
                          .label = "nb201", .clock = [&] { return t; }});
    bar.update(10);  // resumed at 10: the rate counts from here
    t = 2;
    bar.update(20, [] { return std::string("best 88.1"); });
    CHECK(bar.render(20, 2, "best 88.1") == "nb201 [#####-----] 20/40 50% 5/s ETA 0:04 best 88.1");
    t = 6;
    bar.update(40);
    bar.finish();
    CHECK(bar_out.str() == "\rnb201 [##--------] 10/40 25% -/s ETA --:--"
                           "\rnb201 [#####-----] 20/40 50% 5/s ETA 0:04 best 88.1"
                           "\rnb201 [##########] 40/40 100% 5/s done in 0:06     \n");  // padded over the longer line

    std::ostringstream lines_out;
    t = 0;
    at::progress lines(100, {.style = at::progress_style::lines, .stream = &lines_out, .line_interval = 5,
                             .bar_width = 10, .label = {}, .clock = [&] { return t; }});
    for (int i = 0; i <= 100; ++i, t += 0.5) lines.update(std::size_t(i));
    lines.finish();
    std::vector<std::string> got;
    for (std::istringstream is(lines_out.str()); std::getline(is, got.emplace_back());) {
    }
    got.pop_back();
    REQUIRE(got.size() == 11);  // at 0 s, every 5 s (10 updates), and the last
    CHECK(got[0] == "0/100 0% -/s ETA --:--");
    CHECK(got[1] == "10/100 10% 2/s ETA 0:45");
    CHECK(got[10] == "100/100 100% 2/s done in 0:50");

    std::ostringstream none_out;
    at::progress quiet(5, {.style = at::progress_style::automatic, .stream = &none_out});
    CHECK(quiet.style() == at::progress_style::lines);  // not std::cout: never a bar
}
