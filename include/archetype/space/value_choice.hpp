// archetype/space/value_choice.hpp — `value_choice<"name", F, V0, V1, ...>`: a decision over integers.
//
// Contract: value_choice<"k", F, 3, 5, 7> is exactly choice<"k", option<"3", F<3>>, option<"5", F<5>>,
// option<"7", F<7>>> — one alternative per value, labelled by the value's decimal spelling (negative
// values get a leading '-'), so genotype text reads `k=5`. F is any `template <int> class` (usually an
// alias template fixing the other arguments of a block: kernel size, expand ratio, width, ...). Values
// must be distinct (checked at compile time). Everything else — sharing by name, costs, codegen — is
// the choice's. Two value decisions on one block nest: the alternatives of the outer one are
// value_choices themselves, and as the inner one has the same name in every outer alternative it is
// one decision (see value_grid).
//   value_grid<"k", "e", F2, int_values<3, 5, 7>, int_values<3, 4, 6>>   two decisions "k" and "e" over
//                                                                          F2<k, e> (k outer, e inner)
// value_of<Space>(g, "k") reads the integer a genotype selects for a value decision (its label parsed).
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>

#include "archetype/core/error.hpp"
#include "archetype/core/fixed_string.hpp"
#include "archetype/space/choice.hpp"

namespace archetype {

template <int... Values>
struct int_values {};

namespace detail {

constexpr std::size_t int_label_size(long v) {
    std::size_t n = v < 0 ? 2 : 1;
    for (unsigned long u = v < 0 ? 0ul - static_cast<unsigned long>(v) : static_cast<unsigned long>(v); u >= 10;
         u /= 10)
        ++n;
    return n;
}

// The decimal spelling of V as a fixed_string.
template <int V>
constexpr auto int_label() {
    constexpr std::size_t n = int_label_size(V);
    char buf[n + 1]{};
    unsigned long u = V < 0 ? 0ul - static_cast<unsigned long>(long(V)) : static_cast<unsigned long>(V);
    for (std::size_t k = n; k-- > (V < 0 ? 1u : 0u); u /= 10) buf[k] = char('0' + u % 10);
    if (V < 0) buf[0] = '-';
    return fixed_string<n + 1>(buf);
}

template <int... Values>
constexpr bool all_distinct() {
    constexpr int v[] = {Values...};
    for (std::size_t i = 0; i < sizeof...(Values); ++i)
        for (std::size_t j = i + 1; j < sizeof...(Values); ++j)
            if (v[i] == v[j]) return false;
    return true;
}

template <fixed_string Name, template <int> class F, int... Values>
struct value_choice_of {
    static_assert(sizeof...(Values) >= 1, "archetype::value_choice needs at least one value");
    static_assert(all_distinct<Values...>(), "archetype::value_choice: the values must be distinct");
    using type = choice<Name, option<int_label<Values>(), F<Values>>...>;
};

template <fixed_string Outer, fixed_string Inner, template <int, int> class F2, class OuterValues, class InnerValues>
struct value_grid_of;
template <fixed_string Outer, fixed_string Inner, template <int, int> class F2, int... O, int... I>
struct value_grid_of<Outer, Inner, F2, int_values<O...>, int_values<I...>> {
    template <int A>
    struct row {
        template <int B>
        using cell = F2<A, B>;
    };
    template <int A>
    using inner = typename value_choice_of<Inner, row<A>::template cell, I...>::type;
    using type = typename value_choice_of<Outer, inner, O...>::type;
};

}  // namespace detail

template <fixed_string Name, template <int> class F, int... Values>
using value_choice = typename detail::value_choice_of<Name, F, Values...>::type;

template <fixed_string Outer, fixed_string Inner, template <int, int> class F2, class OuterValues, class InnerValues>
using value_grid = typename detail::value_grid_of<Outer, Inner, F2, OuterValues, InnerValues>::type;

// The integer that g selects for the value decision `name` of Space (its label read as a number).
template <class Space>
int value_of(const typename Space::genotype& g, std::string_view name) {
    const std::size_t d = Space::find(name);
    if (d == Space::decision_count)
        throw error("value_of: the space has no decision \"" + std::string(name) + "\"; see Space::decisions");
    Space::validate(g);
    const std::string label = Space::decisions[d].label(g[d]);
    std::size_t used = 0;
    int v = 0;
    try {
        v = std::stoi(label, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != label.size() || Space::decisions[d].labels[g[d]].empty())
        throw error("value_of: decision \"" + std::string(name) + "\" is not a value_choice (its alternative is \"" +
                    label + "\", not an integer label)");
    return v;
}

}  // namespace archetype
