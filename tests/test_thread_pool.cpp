// core/thread_pool.hpp: every index runs exactly once per call over many back-to-back calls (the
// spinning hand-over) and after the workers have gone to sleep (the blocking one); blocks are
// contiguous per thread; an exception reaches the caller and the pool stays usable; destruction of
// an idle and of a sleeping pool returns.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "archetype/core/thread_pool.hpp"

namespace at = archetype;

namespace {

// Runs parallel_for(n) and checks that each index ran once; returns the number of bad indices.
int run_once_each(at::thread_pool& pool, std::size_t n) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](std::size_t i) { hits[i].fetch_add(1, std::memory_order_relaxed); });
    int bad = 0;
    for (auto& h : hits) bad += h.load() != 1;
    return bad;
}

}  // namespace

TEST_CASE("thread_pool: every index exactly once, over many back-to-back calls and after sleeping") {
    for (std::size_t threads : {1, 2, 3}) {
        at::thread_pool pool(threads);
        int bad = 0;
        for (int call = 0; call < 20000; ++call) bad += run_once_each(pool, std::size_t(call % 7) + 1);
        CHECK(bad == 0);
        // Long enough for the workers to stop spinning and block.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        CHECK(run_once_each(pool, 64) == 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        CHECK(run_once_each(pool, 5) == 0);
    }
}

TEST_CASE("thread_pool: the blocks are contiguous, and the caller takes part") {
    at::thread_pool pool(2);
    std::vector<std::thread::id> who(100);
    pool.parallel_for(who.size(), [&](std::size_t i) { who[i] = std::this_thread::get_id(); });
    CHECK(who.front() == std::this_thread::get_id());  // block 0 is the caller's
    int changes = 0;
    for (std::size_t i = 1; i < who.size(); ++i) changes += who[i] != who[i - 1];
    CHECK(changes <= 1);
}

TEST_CASE("thread_pool: an exception in f reaches the caller once every block is done; the pool stays usable") {
    at::thread_pool pool(2);
    std::atomic<int> ran{0};
    CHECK_THROWS_AS(pool.parallel_for(10,
                                      [&](std::size_t i) {
                                          ran.fetch_add(1);
                                          if (i == 9) throw std::runtime_error("worker block fails");
                                      }),
                    std::runtime_error);
    CHECK(ran.load() == 10);  // both blocks ran to their end (the failing index is the last)
    CHECK(run_once_each(pool, 33) == 0);
    CHECK_THROWS_AS(pool.parallel_for(4, [](std::size_t i) { if (i == 0) throw std::logic_error("caller block"); }),
                    std::logic_error);
    CHECK(run_once_each(pool, 2) == 0);
}

TEST_CASE("thread_pool: destroying a busy-then-idle pool and a sleeping pool returns") {
    {
        at::thread_pool pool(2);
        CHECK(run_once_each(pool, 8) == 0);
    }  // workers still spinning
    {
        at::thread_pool pool(2);
        CHECK(run_once_each(pool, 8) == 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }  // workers asleep
    at::thread_pool unused(3);  // never given a job
    CHECK(unused.threads() == 3);
}
