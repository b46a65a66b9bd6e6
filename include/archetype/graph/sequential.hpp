// archetype/graph/sequential.hpp — `sequential<L0, L1, ...>`: layers applied one after another.
//
// Contract: a flat pack. Shapes are propagated by folding each layer's constexpr output() over the
// pack (no recursion over the pack, no tuple); a layer that rejects its input stops compilation in
// check_input_shape with the layer's position and both shapes. Children's parameters and state are
// laid out back to back in pack order; the workspace holds the intermediate activations (kept for
// backward), two ping-pong gradient buffers and each child's own workspace.
#pragma once

#include <algorithm>
#include <array>
#include <utility>

#include "archetype/layers/layer.hpp"

namespace archetype {

template <class... Ls>
struct sequential {
    static_assert(sizeof...(Ls) > 0, "archetype::sequential needs at least one layer");
    static constexpr std::size_t size = sizeof...(Ls);

    // input_shapes(in)[i] is what layer i receives; [size] is the output. Where a layer rejects its
    // input, propagation continues from the shape it expected, so only the first mismatch is reported.
    static constexpr std::array<shape, size + 1> input_shapes(shape in) {
        std::array<shape, size + 1> r{};
        r[0] = in;
        std::size_t i = 0;
        ((r[i + 1] = Ls::output(Ls::expected_input(r[i])), ++i), ...);
        return r;
    }
    static constexpr std::size_t first_mismatch(shape in) {
        const auto s = input_shapes(in);
        std::size_t i = 0, bad = size;
        ((bad = (bad == size && !(Ls::expected_input(s[i]) == s[i])) ? i : bad, ++i), ...);
        return bad;
    }

    static constexpr shape output(shape in) { return input_shapes(in)[size]; }
    static constexpr shape expected_input(shape in) {
        return type_at<0, Ls...>::expected_input(in) == in ? in : type_at<0, Ls...>::expected_input(in);
    }
    static constexpr cost cost_of(shape in) {
        const auto s = input_shapes(in);
        cost c{};
        std::size_t i = 0;
        ((c = c + Ls::cost_of(s[i]), ++i), ...);
        return c;
    }
    static std::string spelling() { return detail::spell_pack<Ls...>("sequential"); }

    template <shape In>
    struct op : op_base<sequential, In> {
        static constexpr bool composite = true;
        static constexpr auto shapes = input_shapes(In);
        static constexpr std::size_t bad = first_mismatch(In);
        static constexpr bool checked = [] {
            if constexpr (bad == size) {
                return true;
            } else {
                using L = type_at<bad, Ls...>;
                return check_input_shape<bad, shapes[bad], L::expected_input(shapes[bad])>();
            }
        }();
        static_assert(checked, "archetype: sequential: see the shape mismatch reported above");

        template <std::size_t I>
        using child = typename type_at<I, Ls...>::template op<type_at<I, Ls...>::expected_input(shapes[I])>;

        template <class F>
        static constexpr auto per_child(F f) {
            return [&]<std::size_t... I>(std::index_sequence<I...>) {
                return std::array<std::size_t, size>{f.template operator()<child<I>>()...};
            }(std::make_index_sequence<size>{});
        }
        static constexpr std::array<std::size_t, size + 1> prefix(std::array<std::size_t, size> a) {
            std::array<std::size_t, size + 1> r{};
            for (std::size_t i = 0; i < size; ++i) r[i + 1] = r[i] + a[i];
            return r;
        }
        static constexpr auto w_off = prefix(per_child([]<class C>() { return C::param_count; }));
        static constexpr auto s_off = prefix(per_child([]<class C>() { return C::state_count; }));
        static constexpr std::size_t param_count = w_off[size];
        static constexpr std::size_t state_count = s_off[size];

        // workspace: [activation 1 .. size-1][gradient ping][gradient pong][child works]
        static constexpr std::size_t act_off(std::size_t batch, std::size_t i) {  // i in [1, size)
            std::size_t o = 0;
            for (std::size_t j = 1; j < i; ++j) o += batch * shapes[j].size();
            return o;
        }
        static constexpr std::size_t max_inner() {
            std::size_t m = 0;
            for (std::size_t j = 1; j < size; ++j) m = std::max(m, shapes[j].size());
            return m;
        }
        static constexpr std::size_t grad_off(std::size_t batch, std::size_t k) {
            return act_off(batch, size) + k * batch * max_inner();
        }
        static constexpr std::size_t child_work_off(std::size_t batch, std::size_t i) {
            const auto works = per_child_work(batch);
            std::size_t o = grad_off(batch, 2);
            for (std::size_t j = 0; j < i; ++j) o += works[j];
            return o;
        }
        static constexpr std::array<std::size_t, size> per_child_work(std::size_t batch) {
            return [&]<std::size_t... I>(std::index_sequence<I...>) {
                return std::array<std::size_t, size>{child<I>::work_size(batch)...};
            }(std::make_index_sequence<size>{});
        }
        static constexpr std::size_t work_size(std::size_t batch) { return child_work_off(batch, size); }

        static void init(float* w, float* state, rng& g) {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (child<I>::init(w + w_off[I], state + s_off[I], g), ...);
            }(std::make_index_sequence<size>{});
        }

        template <std::size_t I>
        static slots child_slots(const context& c, const slots& s) {
            return s.offset(w_off[I], s_off[I], child_work_off(c.batch, I));
        }

        static void forward(const context& c, const slots& s, const float* x, float* y) {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (forward_child<I>(c, s, I == 0 ? x : s.work + act_off(c.batch, I),
                                  I + 1 == size ? y : s.work + act_off(c.batch, I + 1)),
                 ...);
            }(std::make_index_sequence<size>{});
        }
        template <std::size_t I>
        static void forward_child(const context& c, const slots& s, const float* in, float* out) {
            child<I>::forward(c, child_slots<I>(c, s), in, out);
            observe<child<I>>(c, out);
        }

        static void backward(const context& c, const slots& s, const float* x, const float* y,
                             const float* dy, float* dx) {
            [&]<std::size_t... R>(std::index_sequence<R...>) {
                (backward_child<size - 1 - R>(c, s, x, y, dy, dx), ...);
            }(std::make_index_sequence<size>{});
        }

        template <std::size_t I>
        static void backward_child(const context& c, const slots& s, const float* x, const float* y,
                                   const float* dy, float* dx) {
            const float* in = I == 0 ? x : s.work + act_off(c.batch, I);
            const float* out = I + 1 == size ? y : s.work + act_off(c.batch, I + 1);
            const float* g_out = I + 1 == size ? dy : s.work + grad_off(c.batch, (I + 1) % 2);
            float* g_in = I == 0 ? dx : s.work + grad_off(c.batch, I % 2);
            child<I>::backward(c, child_slots<I>(c, s), in, out, g_out, g_in);
        }

        template <class V>
        static constexpr void visit(V& v, std::size_t w, std::size_t st) {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (visit_leaves<child<I>>(v, w + w_off[I], st + s_off[I]), ...);
            }(std::make_index_sequence<size>{});
        }
    };
};

namespace detail {
template <class Block, std::size_t>
using repeat_slot = Block;
template <class Block, class Is>
struct repeat_sequential;
template <class Block, std::size_t... I>
struct repeat_sequential<Block, std::index_sequence<I...>> {
    using type = sequential<repeat_slot<Block, I>...>;
};
}  // namespace detail

// `repeat<N, Block>`: N copies of Block in sequence, each with its own parameters.
template <std::size_t N, class Block>
struct repeat : detail::repeat_sequential<Block, std::make_index_sequence<N>>::type {
    static_assert(N > 0, "archetype::repeat<N, Block>: N must be at least 1");
    static std::string spelling() { return "archetype::repeat<" + std::to_string(N) + ", " + Block::spelling() + ">"; }
};

}  // namespace archetype
