// archetype/io/genotype_json.hpp — genotypes as JSON objects.
//
// Contract: to_json<Space>(g) is the object {"decision": "label", ...} with every decision in decision
// order and labels as in to_text (the option label, or the index as a string when there is none).
// genotype_from_json<Space>(j) accepts such an object with members in any order, each value a label
// string, an index string or an integer index; it rejects, with the same archetype::error messages
// as parse_text, an unknown, repeated or missing decision and an unknown alternative (listing the
// allowed values), and also a value of another JSON type and a non-object. It round trips:
// genotype_from_json<Space>(to_json<Space>(g)) == g.
#pragma once

#include <string>

#include "archetype/io/json.hpp"
#include "archetype/space/genotype_text.hpp"

namespace archetype {

template <class Space>
json to_json(const typename Space::genotype& g) {
    Space::validate(g);
    json j = json::object();
    for (std::size_t i = 0; i < Space::decision_count; ++i)
        j.set(std::string(Space::decisions[i].name), Space::decisions[i].label(g[i]));
    return j;
}

template <class Space>
typename Space::genotype genotype_from_json(const json& j) {
    if (!j.is_object())
        throw error(std::string("genotype: expected a JSON object {\"decision\": \"label\", ...}, got ") +
                    j.type_name());
    typename Space::genotype g{};
    std::array<bool, Space::decision_count> seen{};
    for (const auto& [name, value] : j.as_object()) {
        const std::size_t i = claim_decision<Space>(name, seen);
        const decision_info& d = Space::decisions[i];
        if (value.is_string()) {
            g[i] = parse_alternative<Space>(i, value.as_string());
        } else if (value.is_integer()) {
            const double k = value.as_number();
            if (k < 0 || k >= double(d.size))
                throw error("genotype: decision \"" + name + "\" has no alternative " + value.dump() +
                            "; allowed: " + detail::allowed_values(d));
            g[i] = std::uint16_t(k);
        } else {
            throw error("genotype: decision \"" + name + "\" has the value " + value.dump() + " (" +
                        value.type_name() + "); give a label string or an integer index; allowed: " +
                        detail::allowed_values(d));
        }
    }
    require_all<Space>(seen);
    return g;
}

}  // namespace archetype
