// archetype/estimate/latency.hpp — latency on this host: a per-leaf lookup table measured by
// micro-benchmarks and cached in a file, whole-network measurement, and a linear latency predictor.
//
// Contract:
// - host_key(batch, threads) names what timings depend on: the CPU model (/proc/cpuinfo), the kernels'
//   instruction set, the compiler and its version, whether assertions are on, the batch and the threads.
// - latency_table<Space>: forward (inference-mode) latency in microseconds per batch of every distinct
//   leaf of the space's supernet, a leaf being its descriptor's spelling and its input shape. A leaf is
//   timed alone (a network of that one layer, fresh weights): `warmup` untimed runs, then the median of
//   `repeats` timed runs, each the mean over as many forwards as fill `min_seconds`.
//   load_or_build(path, options) reads the cache file when its format version, key and leaf list match
//   and otherwise measures and rewrites it atomically; `rebuilt_because()` says why it measured (empty
//   when the cache was used). The file is text: "archetype-latency-table 1", "key <host key>", then one
//   "<microseconds>\t<leaf>" line per leaf.
//   lut(g) = Σ over the leaves g selects (each occurrence counted) of their table entries.
// - measure_latency<Space>(g, options): the median forward latency (µs per batch) of g's network (the
//   supernet with g applied, so only g's alternatives run), timed as above.
// - latency_features<Space>(g, table): [MACs, params, activations (floats), leaves run, lut(g)] — the inputs of
//   the latency predictor (a linear_model of estimate/statistics.hpp fitted on measured latencies).
// Timings vary with the machine's load; the key cannot see load, so measure on a quiet machine.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
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

struct latency_options {
    std::size_t batch = 1;       // samples per forward
    std::size_t threads = 1;     // threads of the network's pool (1: none)
    std::size_t warmup = 3;      // untimed forwards first
    std::size_t repeats = 7;     // timed runs; the median is kept
    double min_seconds = 0.002;  // each timed run repeats the forward at least this long
    std::uint64_t seed = 1;      // weights and input of the measured networks
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

namespace detail {

// Median of o.repeats timed runs of f (µs per call), after o.warmup untimed calls.
template <class F>
double time_median_us(F&& f, const latency_options& o) {
    for (std::size_t i = 0; i < o.warmup; ++i) f();
    std::vector<double> runs;
    for (std::size_t r = 0; r < std::max<std::size_t>(1, o.repeats); ++r) {
        std::size_t calls = 0;
        const auto t0 = std::chrono::steady_clock::now();
        double elapsed = 0;
        do {
            f();
            ++calls;
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        } while (elapsed < o.min_seconds);
        runs.push_back(elapsed * 1e6 / double(calls));
    }
    std::nth_element(runs.begin(), runs.begin() + runs.size() / 2, runs.end());
    return runs[runs.size() / 2];
}

// Forward latency of a network type at o.batch, fresh weights, a fixed input.
template <class Net>
double time_network_us(Net& net, const latency_options& o) {
    std::vector<float> x(o.batch * Net::input_shape.size());
    rng r{seed{o.seed}};
    for (float& v : x) v = r.uniform(-1.0f, 1.0f);
    return time_median_us([&] { (void)net.forward_raw(x.data(), o.batch, false); }, o);
}

inline std::string leaf_name(const std::string& spelling, shape in) {
    return spelling + "@" + std::to_string(in.c) + "x" + std::to_string(in.h) + "x" + std::to_string(in.w);
}

struct leaf_collector {
    std::vector<std::string> names;
    std::vector<std::function<double(const latency_options&)>> measure;
    template <class Op>
    void leaf(std::size_t, std::size_t) {
        const std::string n = leaf_name(Op::descriptor::spelling(), Op::in);
        if (std::find(names.begin(), names.end(), n) != names.end()) return;
        names.push_back(n);
        measure.push_back([](const latency_options& o) {
            thread_pool pool(o.threads);
            network<Op::in, typename Op::descriptor> net{seed{o.seed}, o.threads > 1 ? &pool : nullptr};
            return time_network_us(net, o);
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

}  // namespace detail

template <class Space>
class latency_table {
public:
    static constexpr const char* format = "archetype-latency-table 1";

    // The leaves of the space (every alternative), in visit order.
    static std::vector<std::string> leaves() {
        detail::leaf_collector c;
        visit_leaves<typename Space::op>(c);
        return c.names;
    }

    static latency_table build(const latency_options& o = {}) {
        detail::leaf_collector c;
        visit_leaves<typename Space::op>(c);
        latency_table t;
        t.key_ = host_key(o);
        for (std::size_t i = 0; i < c.names.size(); ++i) t.us_[c.names[i]] = c.measure[i](o);
        t.rebuilt_because_ = "built";
        return t;
    }

    static latency_table load_or_build(const std::filesystem::path& path, const latency_options& o = {}) {
        std::string why;
        if (auto t = try_load(path, host_key(o), why)) return *t;
        latency_table t = build(o);
        t.rebuilt_because_ = why;
        t.save(path);
        return t;
    }

    void save(const std::filesystem::path& path) const {
        std::ostringstream os;
        os << format << "\nkey " << key_ << "\n";
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
        Space::validate(g);
        detail::selected_leaf_names<Space> a{g, {}};
        visit_leaves<typename Space::op>(a);
        double s = 0;
        for (const auto& n : a.names) s += at(n);
        return s;
    }

    std::size_t size() const { return us_.size(); }
    const std::string& key() const { return key_; }
    const std::string& rebuilt_because() const { return rebuilt_because_; }

private:
    static std::optional<latency_table> try_load(const std::filesystem::path& path, const std::string& key,
                                                 std::string& why) {
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
        latency_table t;
        t.key_ = key;
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

    std::string key_;
    std::map<std::string, double> us_;
    std::string rebuilt_because_;
};

// Median forward latency (µs per batch) of the supernet with g applied.
template <class Space>
double measure_latency(const typename Space::genotype& g, const latency_options& o = {}) {
    thread_pool pool(o.threads);
    typename Space::network_type net{seed{o.seed}, o.threads > 1 ? &pool : nullptr};
    Space::apply(net, g);
    return detail::time_network_us(net, o);
}

template <class Space>
std::vector<double> latency_features(const typename Space::genotype& g, const latency_table<Space>& t) {
    const cost c = Space::cost_of(g);
    detail::selected_leaf_names<Space> a{g, {}};
    visit_leaves<typename Space::op>(a);
    return {double(c.macs), double(c.params), double(c.activations), double(a.names.size()), t.lut(g)};
}

}  // namespace archetype
