// archetype/space/elastic_depth.hpp — elastic depth: `elastic_depth<"name", Min, B0, B1, ...>` and
// `elastic_repeat<"name", Min, Max, Block>`.
//
// Contract: elastic_depth<"d", Min, B0, ..., B(Max−1)> is a decision named "d" with the alternatives
// depth Min, Min+1, ..., Max (labelled by the depth, so genotype text reads `d=3`); depth k runs the
// first k blocks in sequence (depth 0, allowed when Min == 0, passes the input through). The blocks
// are laid out as sequential<B0, ...> bound to the input (each block type instantiated once; the
// compiler shares equal op types), and own their parameters whether they run or not, so a network is
// a supernet of every depth. Every depth in [Min, Max] must give the same output shape (checked at
// compile time in check_depth_output, naming the decision and the depth): the blocks after the first
// Min (or after the first, with Min ≤ 1) must keep their input's shape. The descriptor's cost_of is
// the upper bound (all Max blocks); a genotype's cost visits only the first k blocks (the visit's
// on_choice result is the depth's index k − Min, as for a choice). Decisions inside the blocks follow
// the usual naming rule: elastic_repeat<"d", Min, Max, Block> repeats one type, so choices inside it
// are one decision shared by all its blocks; give each block its own choice names (elastic_depth with
// distinct block types) for independent ones. The selected depth index is the first float of the op's
// state (as a choice's). codegen resolves depth k to sequential<B0', ..., B(k−1)'> (identity for k = 0),
// whose parameter layout is the first k blocks' — what selected_weights copies.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "archetype/graph/sequential.hpp"
#include "archetype/layers/identity.hpp"
#include "archetype/space/choice.hpp"
#include "archetype/space/codegen.hpp"
#include "archetype/space/value_choice.hpp"

namespace archetype {

template <fixed_string Name, std::size_t Depth, shape Got, shape Expected>
constexpr bool check_depth_output() {
    static_assert(Got == Expected,
                  "archetype: elastic depth changes the output shape: with Depth blocks the elastic_depth Name "
                  "produces shape Got but with its largest depth it produces Expected; every block after the first "
                  "must keep its input shape (see the instantiation of archetype::check_depth_output)");
    return Got == Expected;
}

namespace detail {
template <int V>
struct int_label_holder {
    static constexpr auto value = int_label<V>();
};
}  // namespace detail

template <fixed_string Name, std::size_t Min, class... Blocks>
struct elastic_depth {
    static constexpr std::size_t max_depth = sizeof...(Blocks);
    static constexpr std::size_t min_depth = Min;
    static_assert(max_depth >= 1, "archetype::elastic_depth needs at least one block");
    static_assert(Min <= max_depth, "archetype::elastic_depth<Name, Min, Blocks...>: Min exceeds the number of blocks");
    static constexpr std::string_view name = Name.view();
    static constexpr std::size_t size = max_depth - Min + 1;  // alternatives: depths Min .. Max
    static constexpr std::array<std::string_view, size> labels = []<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<std::string_view, size>{detail::int_label_holder<int(Min + I)>::value.view()...};
    }(std::make_index_sequence<size>{});

    using blocks = sequential<Blocks...>;

    static constexpr shape expected_input(shape in) { return blocks::expected_input(in); }
    static constexpr shape output(shape in) { return blocks::output(in); }
    static constexpr cost cost_of(shape in) { return blocks::cost_of(in); }
    static std::string spelling() {
        std::string s = "archetype::elastic_depth<\"" + std::string(name) + "\", " + std::to_string(Min);
        ((s += ", " + Blocks::spelling()), ...);
        return s + ">";
    }

    template <shape In>
    struct op : op_base<elastic_depth, In> {
        using seq = typename blocks::template op<In>;
        static constexpr bool composite = true;
        static constexpr bool decision = true;
        static constexpr std::string_view name = elastic_depth::name;
        static constexpr std::size_t alternatives = size;
        static constexpr shape out = seq::shapes[max_depth];

        template <std::size_t I>
        using child = typename seq::template child<I>;

        static constexpr bool checked = []<std::size_t... K>(std::index_sequence<K...>) {
            return (check_depth_output<Name, Min + K, seq::shapes[Min + K], out>() && ...);
        }(std::make_index_sequence<size>{});
        static_assert(checked, "archetype: elastic_depth: see the shape mismatch reported above");

        static constexpr std::size_t param_count = seq::param_count;
        static constexpr std::size_t state_count = seq::state_count + 1;  // [0] = selected depth index
        static constexpr std::size_t work_size(std::size_t batch) { return seq::work_size(batch); }

        static std::size_t depth(const slots& s) {
            const float v = s.state[0];
            if (!(v >= 0.0f && v < float(size)) || float(std::size_t(v)) != v)
                throw error("elastic_depth \"" + std::string(name) + "\": the selected depth index " +
                            std::to_string(v) + " is not one of 0.." + std::to_string(size - 1) +
                            "; set a valid genotype before running the network");
            return Min + std::size_t(v);
        }

        static void init(float* w, float* state, rng& g) {
            state[0] = 0.0f;
            seq::init(w, state + 1, g);
        }

        static const float* block_in(const context& c, const slots& s, const float* x, std::size_t i) {
            return i == 0 ? x : s.work + seq::act_off(c.batch, i);
        }
        static float* block_out(const context& c, const slots& s, float* y, std::size_t i, std::size_t d) {
            return i + 1 == d ? y : s.work + seq::act_off(c.batch, i + 1);
        }

        static void forward(const context& c, const slots& s, const float* x, float* y) {
            const std::size_t d = depth(s);
            if (d == 0) {
                std::copy(x, x + c.batch * In.size(), y);
                return;
            }
            const slots inner = s.offset(0, 1, 0);
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                ((I < d ? seq::template forward_child<I>(c, inner, block_in(c, s, x, I), block_out(c, s, y, I, d))
                        : void()),
                 ...);
            }(std::make_index_sequence<max_depth>{});
        }

        static void backward(const context& c, const slots& s, const float* x, const float* y, const float* dy,
                             float* dx) {
            const std::size_t d = depth(s);
            if (d == 0) {
                if (dx) std::copy(dy, dy + c.batch * In.size(), dx);
                return;
            }
            const slots inner = s.offset(0, 1, 0);
            [&]<std::size_t... R>(std::index_sequence<R...>) {
                (backward_block<max_depth - 1 - R>(c, inner, s, x, y, dy, dx, d), ...);
            }(std::make_index_sequence<max_depth>{});
        }
        template <std::size_t I>
        static void backward_block(const context& c, const slots& inner, const slots& s, const float* x,
                                   const float* y, const float* dy, float* dx, std::size_t d) {
            if (I >= d) return;
            const float* out = I + 1 == d ? y : s.work + seq::act_off(c.batch, I + 1);
            const float* g_out = I + 1 == d ? dy : s.work + seq::grad_off(c.batch, (I + 1) % 2);
            float* g_in = I == 0 ? dx : s.work + seq::grad_off(c.batch, I % 2);
            child<I>::backward(c, seq::template child_slots<I>(c, inner), block_in(c, s, x, I), out, g_out, g_in);
        }

        // on_choice(state offset) as for a choice: k >= 0 visits the first Min + k blocks, k < 0 all.
        template <class V>
        static constexpr void visit(V& v, std::size_t w, std::size_t st) {
            long k = -1;
            if constexpr (requires { v.template on_choice<op>(st); }) k = v.template on_choice<op>(st);
            const std::size_t d = k < 0 ? max_depth : Min + std::size_t(k);
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                ((I < d ? visit_leaves<child<I>>(v, w + seq::w_off[I], st + 1 + seq::s_off[I]) : void()), ...);
            }(std::make_index_sequence<max_depth>{});
        }
    };
};

namespace detail {
template <fixed_string Name, std::size_t Min, class Block, class Seq>
struct elastic_repeat_of;
template <fixed_string Name, std::size_t Min, class Block, std::size_t... I>
struct elastic_repeat_of<Name, Min, Block, std::index_sequence<I...>> {
    using type = elastic_depth<Name, Min, repeat_slot<Block, I>...>;
};
}  // namespace detail

// Depth Min..Max of one block type.
template <fixed_string Name, std::size_t Min, std::size_t Max, class Block>
using elastic_repeat = typename detail::elastic_repeat_of<Name, Min, Block, std::make_index_sequence<Max>>::type;

template <fixed_string Name, std::size_t Min, class... Blocks>
struct resolved<elastic_depth<Name, Min, Blocks...>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype& g) {
        const std::size_t d = Space::find(Name.view());
        if (d == Space::decision_count)
            throw error("codegen: the elastic depth \"" + std::string(Name.view()) +
                        "\" is not a decision of the space; resolve a part of the space with that space's genotype");
        const std::size_t depth = Min + g[d];
        if (depth == 0) return "archetype::identity";
        std::string s = "archetype::sequential<";
        std::size_t i = 0;
        ((i < depth ? void(s += (i ? ", " : "") + resolved<Blocks>::template spelling<Space>(g)) : void(), ++i), ...);
        return s + ">";
    }
};

}  // namespace archetype
