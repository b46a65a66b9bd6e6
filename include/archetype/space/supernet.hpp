// archetype/space/supernet.hpp — the weight-sharing store of a search space (a "supernet").
//
// Contract: a network<In, Body> of a space already holds every alternative of every decision with its
// own parameters (choice.hpp, elastic_depth.hpp), and apply(net, g) only moves the selectors, so that
// network IS the supernet: two genotypes that select the same alternative of a decision run the very
// same weights (the same floats of params()), and training one genotype trains that alternative for
// every genotype that selects it. supernet<Space> names that type. One-shot strategies (single-path
// uniform sampling, SPOS) train it by applying a random genotype (sample_path) before each step.
//   active_params<Space>(g)        the [begin, end) ranges of params() that g runs, in visit order,
//                                  adjacent ranges merged (no network is built)
//   shared_param_count<Space>(a, b) how many parameters genotypes a and b both run
//   sample_path<Space>(net, r)      draws a uniform genotype, applies it to net and returns it
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "archetype/space/search_space.hpp"

namespace archetype {

template <class Space>
using supernet = typename Space::network_type;

struct param_range {
    std::size_t begin = 0, end = 0;
    bool operator==(const param_range&) const = default;
};

namespace detail {
template <class Space>
struct active_range_collector {
    const typename Space::genotype& g;
    std::vector<param_range> ranges{};
    template <class Op>
    void leaf(std::size_t w, std::size_t) {
        if (Op::param_count == 0) return;
        if (!ranges.empty() && ranges.back().end == w) ranges.back().end = w + Op::param_count;
        else ranges.push_back({w, w + Op::param_count});
    }
    template <class Op>
    long on_choice(std::size_t) {
        return long(g[Space::find(Op::name)]);
    }
};
}  // namespace detail

template <class Space>
std::vector<param_range> active_params(const typename Space::genotype& g) {
    Space::validate(g);
    detail::active_range_collector<Space> c{g};
    visit_leaves<typename Space::op>(c);
    return std::move(c.ranges);
}

template <class Space>
std::size_t shared_param_count(const typename Space::genotype& a, const typename Space::genotype& b) {
    const auto ra = active_params<Space>(a), rb = active_params<Space>(b);
    std::size_t n = 0;
    for (const auto& x : ra)
        for (const auto& y : rb) {
            const std::size_t lo = std::max(x.begin, y.begin), hi = std::min(x.end, y.end);
            n += hi > lo ? hi - lo : 0;
        }
    return n;
}

template <class Space>
typename Space::genotype sample_path(supernet<Space>& net, rng& r) {
    const auto g = Space::sample(r);
    Space::apply(net, g);
    return g;
}

}  // namespace archetype
