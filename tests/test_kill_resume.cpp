// kill -9: a forked child runs a search with a checkpoint and a log; the test kills it with SIGKILL
// at random moments (some land inside a checkpoint write, seen by the temporary file left behind),
// resumes it each time, and checks that the final history equals an uninterrupted run's exactly,
// that the log holds every entry once, and that no completed evaluation was lost: evaluator calls
// (counted in a side file) exceed the distinct genotypes by at most one per thread per kill.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <fcntl.h>
#include <signal.h>
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

namespace {
using test_support::temp_dir;
at::evaluation evaluate(const G& g) {
    return {{synthetic::fitness(g), synthetic::cost(g)}, 0.0, {{"third", synthetic::fitness(g) / 3}}};
}

// The child: runs the search to the end (or until killed), counting evaluator calls in `calls`.
template <class Make>
[[noreturn]] void child(const Make& make, const fs::path& dir, std::size_t threads) {
    try {
        const int fd = ::open((dir / "calls").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        auto s = make();
        at::search_driver d(s, {.threads = threads, .checkpoint = dir / "search.ckpt", .log = dir / "search.jsonl",
                                .tag = "kill"});
        d.run([fd](const G& g) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            const std::string line = at::to_text<space12>(g) + "\n";
            if (::write(fd, line.data(), line.size()) != ::ssize_t(line.size())) throw std::runtime_error("write");
            return evaluate(g);
        });
        ::_exit(0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kill_resume child: %s\n", e.what());
        ::_exit(3);
    }
}

// The evaluator calls so far, in order (a torn last line is left out; none is expected).
std::vector<std::string> read_calls(const fs::path& file) {
    std::vector<std::string> calls;
    if (!fs::exists(file)) return calls;
    const auto bytes = at::read_file(file);
    const std::string text(bytes.begin(), bytes.end());
    for (std::size_t p = 0, nl; (nl = text.find('\n', p)) != std::string::npos; p = nl + 1)
        calls.push_back(text.substr(p, nl - p));
    return calls;
}

// What a kill left: the evaluator calls made before it and the genotypes its checkpoint holds.
struct after_kill {
    std::size_t calls_before;
    std::set<std::string> saved;
};

// The checkpoint temporary of process `pid` exists: it is inside a checkpoint write.
bool writing(const fs::path& dir, pid_t pid) {
    const std::string prefix = "search.ckpt.tmp." + std::to_string(pid) + ".";
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().rfind(prefix, 0) == 0) return true;
    return false;
}

bool temporaries_in(const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
    return false;
}

// lost_per_kill: evaluations a kill may lose (finished but not yet in a checkpoint): 1 with one
// thread (each result is saved before the next evaluation starts), the batch size with more.
template <class Make>
void kill_and_resume(const std::string& name, const Make& make, std::size_t threads, std::size_t lost_per_kill,
                     std::uint64_t seed) {
    // The uninterrupted run, and its log lines.
    auto reference = make();
    at::search_driver ref_driver(reference, {.tag = "kill"});
    ref_driver.run(evaluate);

    temp_dir dir("kill_" + name);
    at::rng r(at::seed{seed});
    int kills = 0, mid_write = 0, finished = 0;
    std::vector<after_kill> kill_points;
    while (!finished) {
        const bool last = kills >= 200;  // bounds the test's time; normally the child finishes first
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) child(make, dir.path, threads);
        // Even sessions die at a random moment after the child has made progress (two more evaluator
        // calls, so at least one result was saved; waiting for progress rather than a fixed time keeps
        // the test finite on a loaded machine); odd ones as soon as this child's checkpoint temporary
        // appears (inside a write), or after 200 ms.
        if (!last && kills % 2 == 0) {
            const std::size_t before = read_calls(dir.path / "calls").size();
            for (int poll = 0; poll < 6000 && read_calls(dir.path / "calls").size() < before + 2; ++poll)
                std::this_thread::sleep_for(std::chrono::microseconds(500));
            std::this_thread::sleep_for(std::chrono::microseconds(r.below(30000)));
        }
        for (int poll = 0; !last && kills % 2 == 1 && poll < 10000 && !writing(dir.path, pid); ++poll)
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        int status = 0;
        if (!last && ::waitpid(pid, &status, WNOHANG) == 0) {
            ::kill(pid, SIGKILL);
            REQUIRE(::waitpid(pid, &status, 0) == pid);
        }
        // The child can finish on its own between the WNOHANG poll and the kill: then it exited.
        if (!last && WIFSIGNALED(status)) {
            REQUIRE(WTERMSIG(status) == SIGKILL);
            ++kills;
            mid_write += writing(dir.path, pid);
            // Every checkpoint a kill leaves loads, and the log is never ahead of it.
            auto s = make();
            at::evaluation_cache<G> saved;
            after_kill k{read_calls(dir.path / "calls").size(), {}};
            if (at::read_search_checkpoint(dir.path / "search.ckpt", s, saved, "kill")) {
                for (const auto& [g, c] : saved) k.saved.insert(at::to_text<space12>(g));
                CHECK(at::read_search_log(dir.path / "search.jsonl").size() <= s.history().size());
            }
            kill_points.push_back(std::move(k));
            continue;
        }
        if (last) REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
        finished = 1;
    }
    MESSAGE(name << ": " << kills << " kills, " << mid_write << " inside a checkpoint write");
    CHECK(kills >= 10);
    CHECK(kills < 200);  // each resumed session made progress
    CHECK(mid_write >= 5);
    CHECK(!temporaries_in(dir.path));  // stale temporaries are removed on resume

    // The final state equals the uninterrupted run's.
    auto resumed = make();
    at::evaluation_cache<G> cache;
    REQUIRE(at::read_search_checkpoint(dir.path / "search.ckpt", resumed, cache, "kill"));
    REQUIRE(resumed.history().size() == reference.history().size());
    for (std::size_t i = 0; i < reference.history().size(); ++i) {
        CHECK(resumed.history()[i].genotype == reference.history()[i].genotype);
        CHECK(resumed.history()[i].result.objectives == reference.history()[i].result.objectives);
        CHECK(resumed.history()[i].result.metrics == reference.history()[i].result.metrics);
    }
    CHECK(cache.size() == reference.distinct_genotypes());

    // The log holds every entry exactly once, as the uninterrupted run would write it.
    const auto lines = at::read_search_log(dir.path / "search.jsonl");
    REQUIRE(lines.size() == reference.history().size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        at::json a = lines[i], b = ref_driver.log_record(i);
        a.set("seconds", 0);
        b.set("seconds", 0);
        CHECK(a == b);
    }

    // No completed evaluation lost: nothing a checkpoint held is evaluated again after a kill, and a
    // kill loses at most lost_per_kill evaluations (finished but not yet saved).
    const auto calls = read_calls(dir.path / "calls");
    const std::set<std::string> distinct(calls.begin(), calls.end());
    CHECK(distinct.size() == reference.distinct_genotypes());
    for (const after_kill& k : kill_points)
        for (std::size_t i = k.calls_before; i < calls.size(); ++i) CHECK(!k.saved.contains(calls[i]));
    const std::size_t total = calls.size();
    CHECK(total - distinct.size() <= std::size_t(kills) * lost_per_kill);
    MESSAGE(name << ": " << total << " evaluator calls for " << reference.distinct_genotypes() << " genotypes");
}
}  // namespace

TEST_CASE("regularized evolution on 2 threads survives SIGKILL at random moments") {
    kill_and_resume(
        "rea",
        [] {
            return at::regularized_evolution<space12>({.population = 12, .sample = 4, .budget = 60,
                                                       .directions = {at::direction::maximize, at::direction::minimize},
                                                       .batch = 4},
                                                      at::seed{17});
        },
        2, 4, 1);
}

TEST_CASE("NSGA-II on 1 thread survives SIGKILL at random moments") {
    kill_and_resume(
        "nsga2", [] { return at::nsga2<space12>({.population = 10, .offspring = 8, .budget = 50}, at::seed{5}); }, 1, 1,
        2);
}
