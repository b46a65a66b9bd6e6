// archetype/space/genotype_text.hpp — the stable text form of a genotype.
//
// Contract: to_text(g) writes `name=label` for every decision, in decision order, joined by ','
// (a label is the alternative's option label, or its index when it has none). parse_text accepts
// exactly that form, in any order, with labels or indices; it rejects an unknown or repeated decision,
// a missing decision, and an unknown alternative with an archetype::error that names the decision and
// lists the allowed values. parse_text(to_text(g)) == g for every genotype.
#pragma once

#include <string>
#include <string_view>

#include "archetype/space/search_space.hpp"

namespace archetype {

namespace detail {
inline std::string allowed_values(const decision_info& d) {
    std::string s;
    for (std::size_t k = 0; k < d.size; ++k) {
        if (k) s += ", ";
        s += d.label(k);
    }
    return s;
}
inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}
}  // namespace detail

template <class Space>
std::string to_text(const typename Space::genotype& g) {
    Space::validate(g);
    std::string s;
    for (std::size_t i = 0; i < Space::decision_count; ++i) {
        if (i) s += ',';
        s += std::string(Space::decisions[i].name) + "=" + Space::decisions[i].label(g[i]);
    }
    return s;
}

// The alternative of decision i that `value` names (a label or an index); throws when none does.
template <class Space>
std::uint16_t parse_alternative(std::size_t i, std::string_view value) {
    const decision_info& d = Space::decisions[i];
    for (std::size_t k = 0; k < d.size; ++k)
        if (d.label(k) == value) return std::uint16_t(k);
    bool digits = !value.empty() && value.size() <= 5;
    std::size_t k = 0;
    for (char ch : value) {
        digits = digits && ch >= '0' && ch <= '9';
        k = k * 10 + std::size_t(ch - '0');
    }
    if (digits && k < d.size) return std::uint16_t(k);
    throw error("genotype: decision \"" + std::string(d.name) + "\" has no alternative \"" + std::string(value) +
                "\"; allowed: " + detail::allowed_values(d));
}

// The position of decision `name`, marked in `seen`; throws for an unknown or repeated name.
template <class Space>
std::size_t claim_decision(std::string_view name, std::array<bool, Space::decision_count>& seen) {
    const std::size_t i = Space::find(name);
    if (i == Space::decision_count) {
        std::string known;
        for (const auto& d : Space::decisions) {
            if (!known.empty()) known += ", ";
            known += d.name;
        }
        throw error("genotype: the space has no decision \"" + std::string(name) + "\"; its decisions are " + known);
    }
    if (seen[i]) throw error("genotype: decision \"" + std::string(name) + "\" is given twice");
    seen[i] = true;
    return i;
}

// Throws for the first decision not marked in `seen`, listing its allowed values.
template <class Space>
void require_all(const std::array<bool, Space::decision_count>& seen) {
    for (std::size_t i = 0; i < Space::decision_count; ++i)
        if (!seen[i])
            throw error("genotype: decision \"" + std::string(Space::decisions[i].name) +
                        "\" is missing; give one of: " + detail::allowed_values(Space::decisions[i]));
}

template <class Space>
typename Space::genotype parse_text(std::string_view text) {
    typename Space::genotype g{};
    std::array<bool, Space::decision_count> seen{};
    std::string_view rest = detail::trim(text);
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string_view item = detail::trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos)
            throw error("genotype: \"" + std::string(item) + "\" is not of the form name=value (in \"" +
                        std::string(text) + "\")");
        const std::string_view name = detail::trim(item.substr(0, eq));
        const std::size_t i = claim_decision<Space>(name, seen);
        g[i] = parse_alternative<Space>(i, detail::trim(item.substr(eq + 1)));
    }
    require_all<Space>(seen);
    return g;
}

}  // namespace archetype
