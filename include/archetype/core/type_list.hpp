// archetype/core/type_list.hpp — flat (non-recursive) helpers over type packs.
//
// Contract: type_at<I, Ts...> is the I-th type of a pack, found by one overload resolution over an
// index-sequence-indexed base list, so its template depth does not grow with the pack's length.
#pragma once

#include <cstddef>
#include <utility>

namespace archetype::detail {

template <std::size_t I, class T>
struct indexed {
    using type = T;
};

template <class Is, class... Ts>
struct indexer;
template <std::size_t... Is, class... Ts>
struct indexer<std::index_sequence<Is...>, Ts...> : indexed<Is, Ts>... {};

template <std::size_t I, class T>
indexed<I, T> select(indexed<I, T>);

}  // namespace archetype::detail

namespace archetype {

template <std::size_t I, class... Ts>
using type_at =
    typename decltype(detail::select<I>(detail::indexer<std::index_sequence_for<Ts...>, Ts...>{}))::type;

}  // namespace archetype
