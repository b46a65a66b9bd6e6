// archetype/estimate/latency.hpp — latency on this host: a per-leaf lookup table measured by
// micro-benchmarks and cached in a file, whole-network measurement robust to load, predictor features.
//
// Contract:
// - host_key(options) names what timings depend on: the CPU model (/proc/cpuinfo), the kernels'
//   instruction set, the compiler and its version, whether assertions are on, the batch and the threads.
// - Timing method (latency_options), robust to other processes on the cores: the items to time (leaves
//   of a table, or genotypes) are visited round-robin, `repeats` rounds, each round starting one item
//   further, so a burst of load spreads over many items instead of ruining one. A visit selects the
//   item, runs `warmup` untimed forwards (caches warm again after the other items), then one timed run
//   of a fixed number of forwards (set in the first round so a run lasts at least `min_seconds`). An
//   item's latency is the `quantile` order statistic of its runs (0: the minimum, 0.5: the median),
//   in microseconds per forward of `batch` samples, on the `clock` (wall, or the thread's CPU time,
//   which a preempted thread does not accumulate; threads must then be 1). method_name(o) spells this.
// - latency_table<Space>: inference-mode latency of every distinct leaf of the space's supernet, a leaf
//   being its descriptor's spelling and its input shape, each timed alone (a network of that one layer,
//   fresh weights). load_or_build(path, options) reads the cache file when its format version, key,
//   method and leaf list match, and otherwise measures and rewrites it atomically; `rebuilt_because()`
//   says why it measured (empty when the cache was used). The file is text:
//   "archetype-latency-table 2", "key <host key>", "method <method_name>", then one
//   "<microseconds>\t<leaf>" line per leaf.
//   lut(g) = Σ over the leaves g selects (each occurrence counted) of their table entries.
//   kind_of(leaf) is the leaf's spelling up to its first '<' ("archetype::conv2d"); kinds() lists the
//   table's kinds, sorted; lut_by_kind(g)[k] sums the entries of g's leaves of kinds()[k].
// - measure_latencies<Space>(gs, options): the latency of each genotype's network (one supernet, g
//   applied before each visit, so only g's alternatives run), timed together as above;
//   measure_latency(g, options) times one.
// - latency_features<Space>(g, table): [MACs, params, activations (floats), leaves run, lut(g)].
// - latency_predictor<Space> (estimate/latency_predictor.hpp) predicts latency from the table.
// Invalid options (no repeats, a quantile outside [0, 1], thread CPU time with several threads) throw
// archetype::error. Timings still vary with the load; measure on a quiet machine when possible.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "archetype/core/atomic_file.hpp"
#include "archetype/core/thread_pool.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/kernels/simd.hpp"
#include "archetype/space/search_space.hpp"

namespace archetype {

enum class latency_clock { wall, thread_cpu };

struct latency_options {
    std::size_t batch = 1;        // samples per forward
    std::size_t threads = 1;      // threads of the network's pool (1: none)
    std::size_t warmup = 2;       // untimed forwards before every timed run
    std::size_t repeats = 31;     // timed runs (rounds) per item
    double min_seconds = 0.001;   // a timed run lasts at least this long (its forward count is set in round 1)
    std::uint64_t seed = 1;       // weights and input of the measured networks
    double quantile = 0.0;        // the order statistic kept: 0 the fastest run, 0.5 the median
    latency_clock clock = latency_clock::wall;
};

inline std::string host_key(const latency_options& o) {
    std::string cpu = "unknown-cpu";
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) {
            cpu = line.substr(line.find(':') + 2);
            break;
        }
#if defined(__clang__)
    const std::string compiler = "clang-" __clang_version__;
#elif defined(__GNUC__)
    const std::string compiler = "gcc-" __VERSION__;
#else
    const std::string compiler = "c++";
#endif
#ifdef NDEBUG
    const char* checks = "ndebug";
#else
    const char* checks = "asserts";
#endif
    std::string k = cpu + "|" + kernels::simd_name() + "|" + compiler + "|" + checks + "|batch " +
                    std::to_string(o.batch) + "|threads " + std::to_string(o.threads);
    std::replace(k.begin(), k.end(), '\n', ' ');
    return k;
}

// How the timings were taken, e.g. "wall q0 of 31 runs >= 0.001 s, warmup 2".
inline std::string method_name(const latency_options& o) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s q%g of %zu runs >= %g s, warmup %zu",
                  o.clock == latency_clock::wall ? "wall" : "thread-cpu", o.quantile, o.repeats, o.min_seconds,
                  o.warmup);
    return buf;
}

namespace detail {

inline void check_latency_options(const latency_options& o) {
    if (o.batch == 0) throw error("latency_options: batch is 0; time at least one sample per forward");
    if (o.repeats == 0) throw error("latency_options: repeats is 0; take at least one timed run");
    if (!(o.quantile >= 0.0 && o.quantile <= 1.0))
        throw error("latency_options: quantile " + std::to_string(o.quantile) +
                    " is outside [0, 1]; use 0 for the fastest run, 0.5 for the median");
    if (!(o.min_seconds >= 0.0) || !std::isfinite(o.min_seconds))
        throw error("latency_options: min_seconds must be a finite number >= 0");
    if (o.clock == latency_clock::thread_cpu && o.threads > 1)
        throw error("latency_options: thread CPU time cannot see the pool's other threads; use the wall clock "
                    "with threads > 1");
}

inline double clock_seconds(latency_clock c) {
    if (c == latency_clock::thread_cpu) {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The q order statistic of v (0: minimum, 1: maximum; the lower neighbour between two).
inline double order_statistic(std::vector<double> v, double q) {
    const auto k = std::size_t(std::floor(q * double(v.size() - 1)));
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
    return v[k];
}

// Latency (µs per call of run) of n items, timed interleaved as the contract says: select(i) makes
// item i current, run() runs it once.
template <class Select, class Run>
std::vector<double> time_interleaved_us(std::size_t n, Select&& select, Run&& run, const latency_options& o) {
    check_latency_options(o);
    std::vector<std::vector<double>> runs(n);
    std::vector<std::size_t> calls(n, 0);
    for (std::size_t round = 0; round < o.repeats; ++round) {
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t i = (k + round) % n;
            select(i);
            for (std::size_t w = 0; w < o.warmup; ++w) run();
            const double t0 = clock_seconds(o.clock);
            double elapsed = 0;
            if (calls[i] == 0) {  // first visit: as many calls as fill min_seconds
                do {
                    run();
                    ++calls[i];
                    elapsed = clock_seconds(o.clock) - t0;
                } while (elapsed < o.min_seconds);
            } else {
                for (std::size_t c = 0; c < calls[i]; ++c) run();
                elapsed = clock_seconds(o.clock) - t0;
            }
            runs[i].push_back(elapsed * 1e6 / double(calls[i]));
        }
    }
    std::vector<double> us(n);
    for (std::size_t i = 0; i < n; ++i) us[i] = order_statistic(runs[i], o.quantile);
    return us;
}

inline std::vector<float> latency_input(std::size_t size, const latency_options& o) {
    std::vector<float> x(size * o.batch);
    rng r{seed{o.seed}};
    for (float& v : x) v = r.uniform(-1.0f, 1.0f);
    return x;
}

inline std::string leaf_name(const std::string& spelling, shape in) {
    return spelling + "@" + std::to_string(in.c) + "x" + std::to_string(in.h) + "x" + std::to_string(in.w);
}

// One leaf as a network of its own, with its input.
struct timed_leaf {
    virtual ~timed_leaf() = default;
    virtual void run() = 0;
};

template <class Op>
struct timed_leaf_of final : timed_leaf {
    network<Op::in, typename Op::descriptor> net;
    std::vector<float> x;
    std::size_t batch;
    timed_leaf_of(const latency_options& o, thread_pool* pool)
        : net{seed{o.seed}, pool}, x(latency_input(Op::in.size(), o)), batch(o.batch) {}
    void run() override { (void)net.forward_raw(x.data(), batch, false); }
};

struct leaf_collector {
    std::vector<std::string> names;
    std::vector<std::unique_ptr<timed_leaf> (*)(const latency_options&, thread_pool*)> make;
    template <class Op>
    void leaf(std::size_t, std::size_t) {
        const std::string n = leaf_name(Op::descriptor::spelling(), Op::in);
        if (std::find(names.begin(), names.end(), n) != names.end()) return;
        names.push_back(n);
        make.push_back([](const latency_options& o, thread_pool* pool) -> std::unique_ptr<timed_leaf> {
            return std::make_unique<timed_leaf_of<Op>>(o, pool);
        });
    }
};

template <class Space>
struct selected_leaf_names {
    const typename Space::genotype& g;
    std::vector<std::string> names;
    template <class Op>
    void leaf(std::size_t, std::size_t) {
        names.push_back(leaf_name(Op::descriptor::spelling(), Op::in));
    }
    template <class Op>
    long on_choice(std::size_t) {
        return long(g[Space::find(Op::name)]);
    }
};

template <class Space>
std::vector<std::string> leaves_of(const typename Space::genotype& g) {
    Space::validate(g);
    selected_leaf_names<Space> a{g, {}};
    visit_leaves<typename Space::op>(a);
    return a.names;
}

}  // namespace detail

template <class Space>
class latency_table {
public:
    static constexpr const char* format = "archetype-latency-table 2";

    // The leaves of the space (every alternative), in visit order.
    static std::vector<std::string> leaves() {
        detail::leaf_collector c;
        visit_leaves<typename Space::op>(c);
        return c.names;
    }

    static std::string kind_of(const std::string& leaf) { return leaf.substr(0, leaf.find_first_of("<@")); }

    static latency_table build(const latency_options& o = {}) {
        detail::check_latency_options(o);
        detail::leaf_collector c;
        visit_leaves<typename Space::op>(c);
        thread_pool pool(o.threads);
        std::vector<std::unique_ptr<detail::timed_leaf>> items;
        for (auto* make : c.make) items.push_back(make(o, o.threads > 1 ? &pool : nullptr));
        detail::timed_leaf* current = nullptr;
        const std::vector<double> us = detail::time_interleaved_us(
            items.size(), [&](std::size_t i) { current = items[i].get(); }, [&] { current->run(); }, o);
        latency_table t;
        t.key_ = host_key(o);
        t.method_ = method_name(o);
        for (std::size_t i = 0; i < c.names.size(); ++i) t.us_[c.names[i]] = us[i];
        t.rebuilt_because_ = "built";
        return t;
    }

    static latency_table load_or_build(const std::filesystem::path& path, const latency_options& o = {}) {
        std::string why;
        if (auto t = try_load(path, host_key(o), method_name(o), why)) return *t;
        latency_table t = build(o);
        t.rebuilt_because_ = why;
        t.save(path);
        return t;
    }

    void save(const std::filesystem::path& path) const {
        std::ostringstream os;
        os << format << "\nkey " << key_ << "\nmethod " << method_ << "\n";
        for (const auto& [name, us] : us_) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.17g", us);
            os << buf << "\t" << name << "\n";
        }
        write_file_atomically(path, os.str());
    }

    double at(const std::string& leaf) const {
        const auto it = us_.find(leaf);
        if (it == us_.end())
            throw error("latency table: no entry for leaf " + leaf + "; build the table from the space that has it");
        return it->second;
    }

    double lut(const typename Space::genotype& g) const {
        double s = 0;
        for (const auto& n : detail::leaves_of<Space>(g)) s += at(n);
        return s;
    }

    std::vector<std::string> kinds() const {
        std::vector<std::string> k;
        for (const auto& [name, us] : us_)
            if (std::find(k.begin(), k.end(), kind_of(name)) == k.end()) k.push_back(kind_of(name));
        std::sort(k.begin(), k.end());
        return k;
    }

    std::vector<double> lut_by_kind(const typename Space::genotype& g) const {
        const std::vector<std::string> k = kinds();
        std::vector<double> s(k.size(), 0.0);
        for (const auto& n : detail::leaves_of<Space>(g))
            s[std::size_t(std::lower_bound(k.begin(), k.end(), kind_of(n)) - k.begin())] += at(n);
        return s;
    }

    std::size_t size() const { return us_.size(); }
    const std::string& key() const { return key_; }
    const std::string& method() const { return method_; }
    const std::string& rebuilt_because() const { return rebuilt_because_; }

private:
    static std::optional<latency_table> try_load(const std::filesystem::path& path, const std::string& key,
                                                 const std::string& method, std::string& why) {
        std::ifstream in(path);
        if (!in) {
            why = "no cache file " + path.string();
            return std::nullopt;
        }
        std::string line;
        if (!std::getline(in, line) || line != format) {
            why = "the cache file " + path.string() + " is not a latency table of this version";
            return std::nullopt;
        }
        if (!std::getline(in, line) || line != "key " + key) {
            why = "the cache was measured for another host or build (" + line + ")";
            return std::nullopt;
        }
        if (!std::getline(in, line) || line != "method " + method) {
            why = "the cache was measured with another timing method (" + line + ")";
            return std::nullopt;
        }
        latency_table t;
        t.key_ = key;
        t.method_ = method;
        while (std::getline(in, line)) {
            const auto tab = line.find('\t');
            char* end = nullptr;
            const double us = tab == std::string::npos ? 0.0 : std::strtod(line.c_str(), &end);
            if (tab == std::string::npos || end != line.c_str() + tab || !(us >= 0)) {
                why = "the cache file " + path.string() + " has a malformed line";
                return std::nullopt;
            }
            t.us_[line.substr(tab + 1)] = us;
        }
        for (const auto& n : leaves())
            if (!t.us_.contains(n)) {
                why = "the cache lacks leaf " + n + " (the space changed)";
                return std::nullopt;
            }
        return t;
    }

    std::string key_, method_;
    std::map<std::string, double> us_;
    std::string rebuilt_because_;
};

// Latency (µs per batch) of each genotype's network, timed interleaved (see the contract).
template <class Space>
std::vector<double> measure_latencies(const std::vector<typename Space::genotype>& gs, const latency_options& o = {}) {
    detail::check_latency_options(o);
    for (const auto& g : gs) Space::validate(g);
    if (gs.empty()) return {};
    thread_pool pool(o.threads);
    auto net = std::make_unique<typename Space::network_type>(seed{o.seed}, o.threads > 1 ? &pool : nullptr);
    const std::vector<float> x = detail::latency_input(Space::network_type::input_shape.size(), o);
    return detail::time_interleaved_us(
        gs.size(), [&](std::size_t i) { Space::apply(*net, gs[i]); },
        [&] { (void)net->forward_raw(x.data(), o.batch, false); }, o);
}

template <class Space>
double measure_latency(const typename Space::genotype& g, const latency_options& o = {}) {
    return measure_latencies<Space>(std::vector<typename Space::genotype>{g}, o)[0];
}

template <class Space>
std::vector<double> latency_features(const typename Space::genotype& g, const latency_table<Space>& t) {
    const cost c = Space::cost_of(g);
    return {double(c.macs), double(c.params), double(c.activations), double(detail::leaves_of<Space>(g).size()),
            t.lut(g)};
}

}  // namespace archetype
