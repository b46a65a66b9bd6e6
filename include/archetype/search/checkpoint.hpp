// archetype/search/checkpoint.hpp — the whole state of a running search, saved atomically and resumed.
//
// Contract: a search checkpoint holds everything a driver needs to continue exactly: a tag naming
// the run, the strategy's state (its options, rng words, history, pending batch and strategy-specific
// lists, see strategy::save) and the evaluation cache (every evaluation computed so far, with its
// wall time, including results of the pending batch that are computed but not told yet because an
// earlier genotype of the batch is still running). save_search/load_search write and read it as text
// (search/checkpoint_text.hpp tokens, doubles bit-exact); write_search_checkpoint replaces a file
// atomically (core/atomic_file.hpp: the old or the new checkpoint, never a torn one, even under
// SIGKILL); read_search_checkpoint returns false when the file does not exist. A checkpoint of another
// tag, strategy kind, option set or space, a cache entry that is not a valid genotype or has the wrong
// number of objectives, and truncated or corrupt data are archetype::errors naming the file; after a
// failed load the strategy refuses further use (construct a new one). remove_stale_temporaries(path)
// deletes "<path>.tmp.<pid>.<n>" files left by writers that died (their pid no longer runs).
// The cost of one save is proportional to the history: fine for evaluations that take a second or
// more (each save is also an fsync), wasteful for microsecond evaluators (give no checkpoint path).
#pragma once

#include <cerrno>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <system_error>

#include <signal.h>
#include <unistd.h>

#include "archetype/core/atomic_file.hpp"
#include "archetype/search/strategy.hpp"

namespace archetype {

// A computed evaluation and the wall time it took.
struct cached_evaluation {
    evaluation result;
    double seconds = 0.0;
};

// Every evaluation computed for a search, by genotype.
template <class Genotype>
using evaluation_cache = std::map<Genotype, cached_evaluation>;

namespace detail {
// An error's message without the "archetype: " every message starts with (for wrapping it).
inline std::string bare_message(const error& e) {
    const std::string what = e.what(), prefix = "archetype: ";
    return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
}
}  // namespace detail

template <class Strategy>
void save_search(std::ostream& os, const Strategy& s, const evaluation_cache<typename Strategy::genotype>& cache,
                 const std::string& tag = {}) {
    namespace cp = checkpoint;
    os << "archetype-search 1\ntag ";
    cp::put_word(os, tag);
    os << '\n';
    s.save(os);
    os << "cache ";
    cp::put(os, cache.size());
    for (const auto& [g, c] : cache) {
        os << '\n';
        cp::put_genotype(os, g);
        cp::put(os, c.seconds);
        cp::put(os, c.result.objectives.size());
        for (double v : c.result.objectives) cp::put(os, v);
        cp::put(os, c.result.violation);
        cp::put(os, c.result.metrics.size());
        for (const auto& [name, v] : c.result.metrics) cp::put_word(os, name), cp::put(os, v);
    }
    os << "\nend-search\n";
    if (!os) throw error("search checkpoint: writing failed (disk full or stream closed)");
}

template <class Strategy>
void load_search(std::istream& is, Strategy& s, evaluation_cache<typename Strategy::genotype>& cache,
                 const std::string& tag = {}) {
    namespace cp = checkpoint;
    using genotype = typename Strategy::genotype;
    using space = typename Strategy::space_type;
    cp::expect(is, "archetype-search");
    if (cp::get<int>(is) != 1) cp::fail("unknown search checkpoint version (this library writes version 1)");
    cp::expect(is, "tag");
    if (const std::string found = cp::get_word(is); found != tag)
        throw error("search checkpoint: written for the run tagged \"" + found + "\", but this run is tagged \"" +
                    tag + "\"; resume with the same tag, or give another checkpoint path to start afresh");
    s.load(is);
    cp::expect(is, "cache");
    evaluation_cache<genotype> loaded;
    for (auto n = cp::get<std::size_t>(is); n > 0; --n) {
        const genotype g = cp::get_genotype<genotype>(is);
        if constexpr (requires { space::validate(g); }) {
            try {
                space::validate(g);
            } catch (const error& e) {
                cp::fail("cache: " + detail::bare_message(e));
            }
        }
        cached_evaluation c;
        c.seconds = cp::get<double>(is);
        const auto objectives = cp::get<std::size_t>(is);
        if (objectives != s.directions().size()) cp::fail("a cached evaluation has the wrong number of objectives");
        c.result.objectives.resize(objectives);
        for (double& v : c.result.objectives) v = cp::get<double>(is);
        c.result.violation = cp::get<double>(is);
        for (auto m = cp::get<std::size_t>(is); m > 0; --m) {
            std::string name = cp::get_word(is);
            c.result.metrics[name] = cp::get<double>(is);
        }
        if (!loaded.emplace(g, std::move(c)).second) cp::fail("a genotype appears twice in the cache");
    }
    cp::expect(is, "end-search");
    cache = std::move(loaded);
}

template <class Strategy>
void write_search_checkpoint(const std::filesystem::path& path, const Strategy& s,
                             const evaluation_cache<typename Strategy::genotype>& cache, const std::string& tag = {}) {
    std::ostringstream os;
    save_search(os, s, cache, tag);
    write_file_atomically(path, os.str());
}

// Loads `path` into s and cache; false (and nothing changed) when the file does not exist.
template <class Strategy>
bool read_search_checkpoint(const std::filesystem::path& path, Strategy& s,
                            evaluation_cache<typename Strategy::genotype>& cache, const std::string& tag = {}) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return false;
    const auto bytes = read_file(path, "search checkpoint");
    std::istringstream is(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    try {
        load_search(is, s, cache, tag);
    } catch (const error& e) {
        throw error("search checkpoint '" + path.string() + "': " + detail::bare_message(e) +
                    " (or delete the file to start afresh)");
    }
    return true;
}

// Removes temporaries "<path>.tmp.<pid>.<n>" whose writer process is gone. Returns how many.
inline std::size_t remove_stale_temporaries(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    const std::string prefix = path.filename().string() + ".tmp.";
    std::size_t removed = 0;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        const std::string rest = name.substr(prefix.size());
        const auto dot = rest.find('.');
        if (dot == 0 || dot > 9 || rest.find_first_not_of("0123456789.") != std::string::npos)
            continue;
        const long pid = std::stol(rest.substr(0, dot));
        const bool gone = pid != long(::getpid()) && ::kill(::pid_t(pid), 0) != 0 && errno == ESRCH;
        if (gone && fs::remove(it->path(), ec)) ++removed;
    }
    return removed;
}

}  // namespace archetype
