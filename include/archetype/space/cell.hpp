// archetype/space/cell.hpp — `cell<Nodes, Edge>`: a NAS-Bench-201-style DAG cell.
//
// Contract: node 0 is the cell's input; node j (1 ≤ j < Nodes) is the sum, in order i = 0 .. j−1, of
// edge_{j,i}(node i); the output is node Nodes−1. Edges are ordered by destination, then source:
// (1←0), (2←0), (2←1), (3←0), (3←1), (3←2), ... — the order of NAS-Bench-201 cell strings. Every
// edge must keep its input's shape (checked at compile time in check_cell_edge, naming the edge).
// When Edge is `choice<"name", Alts...>`, edge (j←i) becomes `choice<"name_j_i", Alts...>`, so the
// edges of one cell are independent decisions while all cells with the same Edge share one genotype
// (name them apart to make cells independent). Any other Edge is used as is on every edge. Each edge
// owns its parameters (laid out in edge order). cost_of counts every edge (a choice's upper bound)
// plus the Nodes−1 node outputs as activations; a genotype's cost visits only the selected leaves.
// Workspace: intermediate nodes, each edge's output (kept for backward), node gradients, one
// temporary input gradient and the edges' own workspaces. Sums run in a fixed order (deterministic).
#pragma once

#include <algorithm>
#include <array>
#include <utility>

#include "archetype/space/choice.hpp"

namespace archetype {

namespace detail {

struct cell_edge_ends {
    std::size_t to = 0, from = 0;
};
// Ends of edge e in destination-then-source order.
constexpr cell_edge_ends cell_edge_of(std::size_t e) {
    std::size_t to = 1;
    while (e >= to) {
        e -= to;
        ++to;
    }
    return {to, e};
}
constexpr std::size_t decimal_digits(std::size_t v) {
    std::size_t d = 1;
    while (v >= 10) {
        v /= 10;
        ++d;
    }
    return d;
}
constexpr char* write_decimal(char* out, std::size_t v) {
    const std::size_t d = decimal_digits(v);
    for (std::size_t k = d; k-- > 0; v /= 10) out[k] = char('0' + v % 10);
    return out + d;
}
// "base_To_From" as a fixed_string.
template <std::size_t To, std::size_t From, std::size_t N>
constexpr auto cell_edge_name(const fixed_string<N>& base) {
    constexpr std::size_t size = N + 2 + decimal_digits(To) + decimal_digits(From);  // N counts the '\0'
    char buf[size]{};
    char* p = std::copy(base.chars, base.chars + (N - 1), buf);
    *p++ = '_';
    p = write_decimal(p, To);
    *p++ = '_';
    write_decimal(p, From);
    return fixed_string<size>(buf);
}

template <class Edge, std::size_t To, std::size_t From>
struct cell_edge_type {
    using type = Edge;
};
template <fixed_string Name, class... Alts, std::size_t To, std::size_t From>
struct cell_edge_type<choice<Name, Alts...>, To, From> {
    using type = choice<cell_edge_name<To, From>(Name), Alts...>;
};

}  // namespace detail

template <std::size_t To, std::size_t From, shape Got, shape Expected>
constexpr bool check_cell_edge() {
    static_assert(Got == Expected,
                  "archetype: cell edge changes the shape: the edge from node From to node To produces shape Got "
                  "but every edge of a cell must keep its input shape Expected; see 'To', 'From', 'Got' and "
                  "'Expected' in the instantiation of archetype::check_cell_edge in this diagnostic");
    return Got == Expected;
}

template <std::size_t Nodes, class Edge>
struct cell {
    static_assert(Nodes >= 2, "archetype::cell<Nodes, Edge>: a cell needs at least 2 nodes (input and output)");
    static constexpr std::size_t nodes = Nodes;
    static constexpr std::size_t edge_count = Nodes * (Nodes - 1) / 2;

    template <std::size_t E>
    using edge = typename detail::cell_edge_type<Edge, detail::cell_edge_of(E).to, detail::cell_edge_of(E).from>::type;

    static constexpr shape expected_input(shape in) { return Edge::expected_input(in); }
    static constexpr shape output(shape in) { return Edge::output(Edge::expected_input(in)); }
    static constexpr cost cost_of(shape in) {
        cost c{0, 0, (Nodes - 1) * in.size()};
        [&]<std::size_t... E>(std::index_sequence<E...>) {
            ((c = c + edge<E>::cost_of(edge<E>::expected_input(in))), ...);
        }(std::make_index_sequence<edge_count>{});
        return c;
    }
    static std::string spelling() {
        return "archetype::cell<" + std::to_string(Nodes) + ", " + Edge::spelling() + ">";
    }

    template <shape In>
    struct op : op_base<cell, In> {
        static constexpr bool composite = true;
        static constexpr std::size_t size = edge_count;
        static constexpr std::size_t len = In.size();  // floats per sample of every node

        template <std::size_t E>
        using child = typename edge<E>::template op<In>;

        static constexpr bool checked = [] {
            return [&]<std::size_t... E>(std::index_sequence<E...>) {
                return (check_input_shape<E, In, edge<E>::expected_input(In)>() && ...) &&
                       (check_cell_edge<detail::cell_edge_of(E).to, detail::cell_edge_of(E).from, child<E>::out,
                                        In>() &&
                        ...);
            }(std::make_index_sequence<size>{});
        }();
        static_assert(checked, "archetype: cell: see the shape mismatch reported above");

        template <class F>
        static constexpr std::array<std::size_t, size + 1> prefix(F f) {
            std::array<std::size_t, size + 1> r{};
            std::size_t i = 0;
            [&]<std::size_t... E>(std::index_sequence<E...>) {
                ((r[i + 1] = r[i] + f.template operator()<child<E>>(), ++i), ...);
            }(std::make_index_sequence<size>{});
            return r;
        }
        static constexpr auto w_off = prefix([]<class C>() { return C::param_count; });
        static constexpr auto s_off = prefix([]<class C>() { return C::state_count; });
        static constexpr std::size_t param_count = w_off[size];
        static constexpr std::size_t state_count = s_off[size];

        // workspace: [nodes 1..Nodes-2][edge outputs][node gradients 1..Nodes-2][temp dx][edge works]
        static constexpr std::size_t inner = Nodes - 2;
        static constexpr std::size_t node_off(std::size_t batch, std::size_t j) { return (j - 1) * batch * len; }
        static constexpr std::size_t edge_out_off(std::size_t batch, std::size_t e) {
            return (inner + e) * batch * len;
        }
        static constexpr std::size_t grad_off(std::size_t batch, std::size_t j) {
            return (inner + size + j - 1) * batch * len;
        }
        static constexpr std::size_t tmp_off(std::size_t batch) { return (2 * inner + size) * batch * len; }
        static constexpr std::size_t work_off(std::size_t batch, std::size_t e) {
            std::size_t o = tmp_off(batch) + batch * len;
            [&]<std::size_t... E>(std::index_sequence<E...>) {
                ((o += E < e ? child<E>::work_size(batch) : 0), ...);
            }(std::make_index_sequence<size>{});
            return o;
        }
        static constexpr std::size_t work_size(std::size_t batch) { return work_off(batch, size); }

        template <std::size_t E>
        static slots child_slots(const context& c, const slots& s) {
            return s.offset(w_off[E], s_off[E], work_off(c.batch, E));
        }

        static void init(float* w, float* state, rng& g) {
            [&]<std::size_t... E>(std::index_sequence<E...>) {
                (child<E>::init(w + w_off[E], state + s_off[E], g), ...);
            }(std::make_index_sequence<size>{});
        }

        // The value of node j (node 0 is x, the last node is y); node_out is where forward writes it.
        static const float* node(const context& c, const slots& s, const float* x, const float* y, std::size_t j) {
            return j == 0 ? x : j == Nodes - 1 ? y : s.work + node_off(c.batch, j);
        }
        static float* node_out(const context& c, const slots& s, float* y, std::size_t j) {
            return j == Nodes - 1 ? y : s.work + node_off(c.batch, j);
        }

        static void forward(const context& c, const slots& s, const float* x, float* y) {
            [&]<std::size_t... E>(std::index_sequence<E...>) {
                (forward_edge<E>(c, s, x, y), ...);
            }(std::make_index_sequence<size>{});
        }
        template <std::size_t E>
        static void forward_edge(const context& c, const slots& s, const float* x, float* y) {
            constexpr auto ends = detail::cell_edge_of(E);
            const std::size_t n = c.batch * len;
            float* out = s.work + edge_out_off(c.batch, E);
            child<E>::forward(c, child_slots<E>(c, s), node(c, s, x, y, ends.from), out);
            if constexpr (ends.from + 1 == ends.to) {  // last edge into node `to`: sum its inputs in order
                float* dst = node_out(c, s, y, ends.to);
                const float* first = s.work + edge_out_off(c.batch, E - ends.from);
                std::copy(first, first + n, dst);
                for (std::size_t i = 1; i < ends.to; ++i) {
                    const float* b = s.work + edge_out_off(c.batch, E - ends.from + i);
                    for (std::size_t k = 0; k < n; ++k) dst[k] += b[k];
                }
            }
        }

        static void backward(const context& c, const slots& s, const float* x, const float* y, const float* dy,
                             float* dx) {
            const std::size_t n = c.batch * len;
            std::fill(s.work + grad_off(c.batch, 1), s.work + grad_off(c.batch, 1) + inner * n, 0.0f);
            if (dx) std::fill(dx, dx + n, 0.0f);
            [&]<std::size_t... R>(std::index_sequence<R...>) {
                (backward_edge<size - 1 - R>(c, s, x, y, dy, dx), ...);
            }(std::make_index_sequence<size>{});
        }
        // Edges run in reverse order, so a node's gradient is complete before the edges leaving it
        // towards earlier nodes are differentiated.
        template <std::size_t E>
        static void backward_edge(const context& c, const slots& s, const float* x, const float* y, const float* dy,
                                  float* dx) {
            constexpr auto ends = detail::cell_edge_of(E);
            const std::size_t n = c.batch * len;
            const float* g_out = ends.to == Nodes - 1 ? dy : s.work + grad_off(c.batch, ends.to);
            float* g_in = ends.from == 0 ? dx : s.work + grad_off(c.batch, ends.from);
            float* tmp = g_in ? s.work + tmp_off(c.batch) : nullptr;
            child<E>::backward(c, child_slots<E>(c, s), node(c, s, x, y, ends.from), s.work + edge_out_off(c.batch, E),
                               g_out, tmp);
            if (g_in)
                for (std::size_t k = 0; k < n; ++k) g_in[k] += tmp[k];
        }

        template <class V>
        static constexpr void visit(V& v, std::size_t w, std::size_t st) {
            [&]<std::size_t... E>(std::index_sequence<E...>) {
                (visit_leaves<child<E>>(v, w + w_off[E], st + s_off[E]), ...);
            }(std::make_index_sequence<size>{});
        }
    };
};

}  // namespace archetype
