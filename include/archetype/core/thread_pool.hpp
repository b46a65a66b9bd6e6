// archetype/core/thread_pool.hpp — a small fixed-size pool for batch-parallel kernels.
//
// Contract: `parallel_for(n, f)` calls f(i) once for every i in [0, n) and returns when all calls are
// done; the calling thread takes part. Work is split into contiguous blocks, one per thread. Callers
// keep results independent of the thread count by making each f(i) write only its own outputs and by
// reducing partial results in index order afterwards. A null pool (or threads() == 1) runs serially.
// parallel_for is not reentrant: kernels must not call it from inside f.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace archetype {

class thread_pool {
public:
    explicit thread_pool(std::size_t threads = std::max(1u, std::thread::hardware_concurrency()))
        : n_threads_(std::max<std::size_t>(1, threads)) {
        for (std::size_t t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { work(t); });
    }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    ~thread_pool() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
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
        {
            std::lock_guard lock(m_);
            job_ = &job;
            n_ = n;
            pending_ = n_threads_ - 1;
            error_ = nullptr;
            ++generation_;
        }
        wake_.notify_all();
        run_block(0);
        std::unique_lock lock(m_);
        done_.wait(lock, [this] { return pending_ == 0; });
        job_ = nullptr;
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

private:
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
            {
                std::unique_lock lock(m_);
                wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
                if (stop_) return;
                seen = generation_;
            }
            run_block(t);
            std::lock_guard lock(m_);
            if (--pending_ == 0) done_.notify_one();
        }
    }

    std::size_t n_threads_;
    std::vector<std::thread> workers_;
    std::mutex m_;
    std::condition_variable wake_, done_;
    std::function<void(std::size_t)>* job_ = nullptr;
    std::size_t n_ = 0, pending_ = 0, generation_ = 0;
    std::exception_ptr error_;
    bool stop_ = false;
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
