// archetype/search/driver.hpp — runs a strategy end to end: parallel evaluation, cache, checkpoint,
// log and progress.
//
// Contract: search_driver<Strategy>::run(evaluator) asks the strategy for batches until it is done.
// Each batch's genotypes that the cache does not hold are evaluated once each (duplicates in a batch
// included) by an executor: by default a pool_executor that runs `threads` evaluations at once, each
// thread taking the next genotype as it becomes free. Results come back in any order; the driver tells
// them to the strategy in ask order, as soon as every earlier genotype of the batch is told, so the
// history is the same for every thread count and completion order (the evaluator must be thread-safe
// when threads > 1). A genotype is never evaluated twice: every result enters the cache (repeats are
// told from it). Every computed evaluation is saved as it arrives: the driver writes the checkpoint
// (when a path is given; search/checkpoint.hpp), then appends the log lines of the newly told entries
// (when a path is given; io/search_log.hpp), then updates the progress. One thread writes at a time,
// outside the lock, while the others go on evaluating; results arriving meanwhile go into its next
// write. A checkpoint write costs two fsyncs (~20 ms on a disk): give no path for evaluators faster
// than that. A run started with resume (the default) and an
// existing checkpoint continues it exactly: the log is cut back to the checkpoint's history (lines
// beyond it, a torn line) and its missing lines are written from the checkpoint, so after any crash
// it holds each history entry exactly once; a kept log line that differs from the checkpoint's history
// is an archetype::error (the log belongs to another run). If an evaluation throws, running ones finish
// and are saved, and the exception propagates; run() again (or a resumed process) continues there.
// Log line i: {"index": i, "genotype": describe(g), "objectives": [...], "violation": v,
// "metrics": {...}, "repeat": whether g was told before, "seconds": wall time of its evaluation
// (0 for a repeat)}; a non-finite metric is written as null. describe defaults to to_text<Space>.
// An executor evaluates distinct genotypes however it likes (threads here; other machines later) and
// calls done(job, evaluation, seconds) once per job from any thread (the driver serializes the calls);
// if an evaluation or a done call throws, it starts no new job, lets running ones finish, and rethrows.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <type_traits>
#include <utility>

#include "archetype/core/thread_pool.hpp"
#include "archetype/io/json.hpp"
#include "archetype/io/progress.hpp"
#include "archetype/io/search_log.hpp"
#include "archetype/search/checkpoint.hpp"
#include "archetype/space/genotype_text.hpp"

namespace archetype {

template <class Genotype>
class executor {
public:
    using on_done = std::function<void(std::size_t job, evaluation result, double seconds)>;
    virtual ~executor() = default;
    // Evaluates every job, calls done once per job, and returns when all are done (or rethrows).
    virtual void run(const std::vector<Genotype>& jobs, const on_done& done) = 0;
};

// An evaluator's result as an evaluation: a number is a single objective; anything with members
// `objectives` and `metrics` (an estimate of estimate/, which cannot know this type) is feasible.
template <class R>
evaluation as_evaluation(R&& r) {
    using T = std::decay_t<R>;
    if constexpr (std::is_arithmetic_v<T>)
        return evaluation{{double(r)}};
    else if constexpr (std::is_convertible_v<R, evaluation>)
        return evaluation(std::forward<R>(r));
    else
        return evaluation(std::forward<R>(r).objectives, 0.0, std::forward<R>(r).metrics);
}

// Evaluates on `threads` threads of its own pool (0: one per core), the calling thread included.
template <class Genotype, class Evaluator>
class pool_executor : public executor<Genotype> {
public:
    pool_executor(Evaluator f, std::size_t threads)
        : f_(std::move(f)), pool_(threads ? threads : std::max(1u, std::thread::hardware_concurrency())) {}

    std::size_t threads() const { return pool_.threads(); }

    void run(const std::vector<Genotype>& jobs, const typename executor<Genotype>::on_done& done) override {
        std::atomic<std::size_t> next{0};
        std::atomic<bool> stop{false};
        pool_.parallel_for(std::min(pool_.threads(), jobs.size()), [&](std::size_t) {
            while (!stop.load()) {
                const std::size_t i = next.fetch_add(1);
                if (i >= jobs.size()) return;
                try {
                    const auto t0 = std::chrono::steady_clock::now();
                    evaluation e = as_evaluation(f_(jobs[i]));
                    done(i, std::move(e), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
                } catch (...) {
                    stop.store(true);
                    throw;
                }
            }
        });
    }

private:
    Evaluator f_;
    thread_pool pool_;
};

struct driver_options {
    std::size_t threads = 1;             // evaluations at once (pool_executor); 0: one per core
    std::filesystem::path checkpoint{};  // written after every evaluation; empty: none
    std::filesystem::path log{};         // JSON lines, one per history entry; empty: none
    bool resume = true;                  // continue from `checkpoint` when it exists
    bool durable_log = false;            // fsync every log line (survives power loss, slower)
    std::string tag{};                   // names the run; a checkpoint of another tag is refused
    progress_options progress{.style = progress_style::none, .stream = &std::cout, .line_interval = 5.0,
                              .bar_width = 30, .label = {}, .clock = {}};
};

template <class Strategy>
class search_driver {
public:
    using genotype = typename Strategy::genotype;
    using space_type = typename Strategy::space_type;
    using entry = history_entry<genotype>;
    using describe_fn = std::function<std::string(const genotype&)>;

    explicit search_driver(Strategy& s, driver_options o = {}, describe_fn describe = {})
        : s_(s), o_(std::move(o)), describe_(std::move(describe)) {
        if (!describe_) describe_ = [](const genotype& g) { return to_text<space_type>(g); };
    }

    // A result known before the search (an earlier run, a table): used instead of evaluating g.
    void add_known(const genotype& g, evaluation e, double seconds = 0.0) {
        validate(g, e);
        cache_.insert_or_assign(g, cached_evaluation{std::move(e), seconds});
    }

    // Runs with a pool_executor of options.threads threads.
    template <class Evaluator>
        requires std::is_invocable_v<Evaluator&, const genotype&>
    const std::vector<entry>& run(Evaluator evaluate) {
        pool_executor<genotype, Evaluator> ex(std::move(evaluate), o_.threads);
        return run(ex);
    }

    const std::vector<entry>& run(executor<genotype>& ex) {
        begin();
        for (;;) {
            std::vector<genotype> batch = s_.untold();
            if (batch.empty()) {
                if (s_.done()) break;
                batch = s_.ask();
            }
            std::vector<genotype> jobs;  // distinct and not cached, in batch order
            for (const genotype& g : batch)
                if (!cache_.contains(g) && std::find(jobs.begin(), jobs.end(), g) == jobs.end()) jobs.push_back(g);
            {
                std::unique_lock lock(m_);
                if (tell_ready()) persist(lock);
            }
            if (jobs.empty()) continue;
            ex.run(jobs, [&](std::size_t j, evaluation e, double seconds) {
                std::unique_lock lock(m_);
                if (j >= jobs.size())
                    throw error("search driver: the executor reported job " + std::to_string(j) + " of " +
                                std::to_string(jobs.size()));
                validate(jobs[j], e);
                if (!cache_.emplace(jobs[j], cached_evaluation{std::move(e), seconds}).second)
                    throw error("search driver: the executor reported job " + std::to_string(j) + " twice");
                ++computed_;
                tell_ready();
                persist(lock);
            });
            if (!s_.untold().empty())
                throw error("search driver: the executor returned before evaluating every job; "
                            "an executor must call done once for each job");
        }
        if (bar_) bar_->finish();
        return s_.history();
    }

    const std::vector<entry>& history() const { return s_.history(); }
    const evaluation_cache<genotype>& cache() const { return cache_; }
    bool resumed() const { return resumed_; }
    // Evaluations computed by this driver (not restored, not from the cache).
    std::size_t computed() const { return computed_; }

    // The log line of history entry i.
    json log_record(std::size_t i) const {
        const entry& h = s_.history().at(i);
        const bool repeat = s_.lookup(h.genotype) != &h.result;
        const auto c = cache_.find(h.genotype);
        json objectives = json::array(), metrics = json::object();
        for (double v : h.result.objectives) objectives.push_back(v);
        for (const auto& [name, v] : h.result.metrics) metrics.set(name, std::isfinite(v) ? json(v) : json());
        return json::object({{"index", i},
                             {"genotype", describe_(h.genotype)},
                             {"objectives", std::move(objectives)},
                             {"violation", h.result.violation},
                             {"metrics", std::move(metrics)},
                             {"repeat", repeat},
                             {"seconds", repeat || c == cache_.end() ? 0.0 : c->second.seconds}});
    }

private:
    void begin() {
        if (begun_) return;
        begun_ = true;
        if (!o_.checkpoint.empty()) {
            remove_stale_temporaries(o_.checkpoint);
            evaluation_cache<genotype> known = std::move(cache_);
            if (o_.resume && read_search_checkpoint(o_.checkpoint, s_, cache_, o_.tag)) resumed_ = true;
            std::error_code ec;
            if (!resumed_) std::filesystem::remove(o_.checkpoint, ec);  // never resume a state this run left
            cache_.merge(known);
        }
        for (const entry& h : s_.history())  // a strategy that was told results before the driver ran
            cache_.emplace(h.genotype, cached_evaluation{*s_.lookup(h.genotype), 0.0});
        if (!o_.log.empty()) {
            log_.emplace(o_.log, s_.history().size(), o_.durable_log);
            check_log();
            while (log_->records() < s_.history().size()) log_->append(log_record(log_->records()));
        }
        if (o_.progress.style != progress_style::none) bar_.emplace(s_.budget(), o_.progress);
        if (bar_) bar_->update(s_.history().size(), [this] { return best_text(); });
    }

    // Tells the leading asked genotypes whose results are cached. True when any was told.
    bool tell_ready() {
        bool any = false;
        for (const genotype& g : s_.untold()) {
            const auto c = cache_.find(g);
            if (c == cache_.end()) break;
            s_.tell(g, c->second.result);
            any = true;
        }
        return any;
    }

    // Checkpoint first, then the log lines it covers, then progress; `lock` holds m_. One thread at a
    // time writes, outside the lock (other threads go on evaluating); results that arrive meanwhile
    // are written by the same thread in its next round, before its done call returns.
    void persist(std::unique_lock<std::mutex>& lock) {
        dirty_ = true;
        if (writing_) return;
        writing_ = true;
        try {
            while (dirty_) {
                dirty_ = false;
                std::string snapshot;
                if (!o_.checkpoint.empty()) {
                    std::ostringstream os;
                    save_search(os, s_, cache_, o_.tag);
                    snapshot = os.str();
                }
                std::vector<json> lines;
                for (std::size_t i = log_ ? log_->records() : 0; log_ && i < s_.history().size(); ++i)
                    lines.push_back(log_record(i));
                lock.unlock();
                try {
                    if (!o_.checkpoint.empty()) write_file_atomically(o_.checkpoint, snapshot);
                    for (const json& line : lines) log_->append(line);
                } catch (...) {
                    lock.lock();
                    throw;
                }
                lock.lock();
                if (bar_) bar_->update(s_.history().size(), [this] { return best_text(); });
            }
        } catch (...) {
            writing_ = false;
            throw;
        }
        writing_ = false;
    }

    std::string best_text() const {
        if (s_.history().empty()) return {};
        char buf[64];
        if (s_.directions().size() == 1) {
            std::snprintf(buf, sizeof buf, "best %.6g", s_.history()[base().best(0)].result.objectives[0]);
            return buf;
        }
        return "front " + std::to_string(s_.pareto_front().size());
    }

    // The lines kept on opening the log must be the history's own.
    void check_log() const {
        const std::vector<json> lines = read_search_log(log_->path());
        for (std::size_t i = 0; i < log_->records(); ++i)
            if (i >= lines.size() || !(lines[i] == log_record(i)))
                throw error("search log '" + log_->path().string() + "': line " + std::to_string(i + 1) +
                            " differs from history entry " + std::to_string(i) + " of the checkpoint; the log "
                            "belongs to another run: move it away (it is then rewritten from the checkpoint) or "
                            "give another log path");
    }

    void validate(const genotype& g, const evaluation& e) const {
        const std::string who = "search driver: the evaluation of " + describe_(g);
        if (e.objectives.size() != s_.directions().size())
            throw error(who + " has " + std::to_string(e.objectives.size()) + " objectives but the strategy has " +
                        std::to_string(s_.directions().size()) + " directions; return one value per direction");
        for (double v : e.objectives)
            if (!std::isfinite(v))
                throw error(who + " has a non-finite objective; report a failed candidate as a constraint violation");
        if (!std::isfinite(e.violation) || e.violation < 0)
            throw error(who + " has constraint violation " + std::to_string(e.violation) +
                        "; it must be finite and >= 0 (0 = feasible)");
    }

    const strategy<space_type>& base() const { return s_; }  // best(k) even where a strategy hides it

    Strategy& s_;
    driver_options o_;
    describe_fn describe_;
    evaluation_cache<genotype> cache_;
    std::optional<search_log> log_;
    std::optional<progress> bar_;
    std::mutex m_;
    bool begun_ = false, resumed_ = false;
    bool writing_ = false, dirty_ = false;  // a thread is persisting; state changed since its snapshot
    std::size_t computed_ = 0;
};

}  // namespace archetype
