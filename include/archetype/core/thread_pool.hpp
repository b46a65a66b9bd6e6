// archetype/core/thread_pool.hpp — a small fixed-size pool for batch-parallel kernels.
//
// Contract: `parallel_for(n, f)` calls f(i) once for every i in [0, n) and returns when all calls are
// done; the calling thread takes part. Work is split into contiguous blocks, one per thread. Callers
// keep results independent of the thread count by making each f(i) write only its own outputs and by
// reducing partial results in index order afterwards. A null pool (or threads() == 1) runs serially.
// parallel_for is not reentrant: kernels must not call it from inside f. An exception thrown by f is
// rethrown by parallel_for (the first one, once every block has finished); the pool stays usable.
// Waiting: a network calls parallel_for once per layer, tens of thousands of times per epoch with a few
// microseconds of work each, so waking a sleeping thread (a futex round trip, 10–50 µs here) would cost
// more than the work. Workers and the caller therefore spin on atomics for up to spin_time after a job
// (a job usually follows within microseconds) and only then block on a condition variable.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace archetype {

class thread_pool {
public:
    // How long an idle thread polls for the next job before it sleeps.
    static constexpr std::chrono::microseconds spin_time{100};

    explicit thread_pool(std::size_t threads = std::max(1u, std::thread::hardware_concurrency()))
        : n_threads_(std::max<std::size_t>(1, threads)) {
        for (std::size_t t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { work(t); });
    }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    ~thread_pool() {
        {
            std::lock_guard lock(m_);
            stop_.store(true, std::memory_order_release);
        }
        wake_.notify_all();
        for (auto& w : workers_) w.join();
    }

    std::size_t threads() const { return n_threads_; }

    template <class F>
    void parallel_for(std::size_t n, F&& f) {
        if (n == 0) return;
        if (n_threads_ == 1 || n == 1) {
            for (std::size_t i = 0; i < n; ++i) f(i);
            return;
        }
        std::function<void(std::size_t)> job = [&f](std::size_t i) { f(i); };
        job_ = &job;
        n_ = n;
        error_ = nullptr;
        pending_.store(n_threads_ - 1, std::memory_order_relaxed);
        {
            // Publishes job_ and n_ (release) and orders against a worker deciding to sleep under m_.
            std::lock_guard lock(m_);
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        run_block(0);
        if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
            std::unique_lock lock(m_);
            done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
        }
        job_ = nullptr;
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

private:
    static void pause() {
#if defined(__x86_64__) || defined(__i386__)
        _mm_pause();
#else
        std::this_thread::yield();
#endif
    }

    // Polls ready() for up to spin_time; true once it holds.
    template <class Ready>
    static bool spin_until(const Ready& ready) {
        const auto until = std::chrono::steady_clock::now() + spin_time;
        for (unsigned round = 1;; ++round) {
            for (int i = 0; i < 64; ++i) {
                if (ready()) return true;
                pause();
            }
            if (std::chrono::steady_clock::now() > until) return ready();
            // With more threads than cores, let the thread being waited for run now and then.
            if (round % 8 == 0) std::this_thread::yield();
        }
    }

    void run_block(std::size_t t) {
        const std::size_t begin = n_ * t / n_threads_, end = n_ * (t + 1) / n_threads_;
        try {
            for (std::size_t i = begin; i < end; ++i) (*job_)(i);
        } catch (...) {
            std::lock_guard lock(m_);
            if (!error_) error_ = std::current_exception();
        }
    }

    void work(std::size_t t) {
        std::size_t seen = 0;
        for (;;) {
            auto ready = [&] {
                return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
            };
            if (!spin_until(ready)) {
                std::unique_lock lock(m_);
                wake_.wait(lock, ready);
            }
            if (stop_.load(std::memory_order_acquire)) return;
            seen = generation_.load(std::memory_order_acquire);
            run_block(t);
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard lock(m_);  // the caller checks pending_ under m_ before it sleeps
                done_.notify_one();
            }
        }
    }

    std::size_t n_threads_;
    std::vector<std::thread> workers_;
    std::mutex m_;
    std::condition_variable wake_, done_;
    std::function<void(std::size_t)>* job_ = nullptr;
    std::size_t n_ = 0;
    std::atomic<std::size_t> pending_{0}, generation_{0};
    std::exception_ptr error_;
    std::atomic<bool> stop_{false};
};

// Serial when pool is null.
template <class F>
void parallel_for(thread_pool* pool, std::size_t n, F&& f) {
    if (pool) {
        pool->parallel_for(n, std::forward<F>(f));
    } else {
        for (std::size_t i = 0; i < n; ++i) f(i);
    }
}

}  // namespace archetype
