// archetype/space/choice.hpp — decision points: `choice<"name", Alternatives...>` and
// `option<"label", Layer>`.
//
// Contract: a choice is a layer whose alternatives all take the same input and give the same output
// shape (checked at compile time in check_choice_output). Each alternative is instantiated once and
// owns its own parameters (so a network of a space is also a weight-sharing supernet); the selected
// alternative is an index kept in the first float of the choice's state, and forward/backward switch
// on it. Decisions are identified by name: every choice with the same name follows the same entry of
// the genotype (cells repeated with one name share one genotype; give names apart to make them
// independent). cost_of() is the elementwise maximum over the alternatives (an upper bound over the
// space); the cost of one genotype is summed by visiting only the selected alternatives
// (space/genotype.hpp). option<"label", L> behaves exactly as L and gives the alternative a label for
// genotype strings; an alternative without one is labelled by its position.
#pragma once

#include <algorithm>
#include <array>
#include <string_view>

#include "archetype/graph/sequential.hpp"

namespace archetype {

template <fixed_string Label, class L>
struct option : L {
    static constexpr std::string_view label = Label.view();
    static std::string spelling() {
        return "archetype::option<\"" + std::string(label) + "\", " + L::spelling() + ">";
    }
};

template <class L>
constexpr std::string_view label_of() {
    if constexpr (requires { L::label; }) return L::label;
    else return {};
}

template <fixed_string Name, std::size_t Position, shape Got, shape Expected>
constexpr bool check_choice_output() {
    static_assert(Got == Expected,
                  "archetype: choice alternatives disagree: the alternative at Position of the choice Name "
                  "produces shape Got but alternative 0 produces Expected; every alternative of a choice must "
                  "give the same output shape (see the instantiation of archetype::check_choice_output in this "
                  "diagnostic)");
    return Got == Expected;
}

template <fixed_string Name, class... Alts>
struct choice {
    static_assert(sizeof...(Alts) >= 1, "archetype::choice needs at least one alternative");
    static_assert(sizeof...(Alts) <= 65535, "archetype::choice: at most 65535 alternatives");
    static constexpr std::string_view name = Name.view();
    static constexpr std::size_t size = sizeof...(Alts);
    static constexpr std::array<std::string_view, size> labels{label_of<Alts>()...};

    static constexpr shape expected_input(shape in) {
        shape e = in;
        ((e = (e == in && !(Alts::expected_input(in) == in)) ? Alts::expected_input(in) : e), ...);
        return e;
    }
    static constexpr shape output(shape in) {
        using first = type_at<0, Alts...>;
        return first::output(first::expected_input(in));
    }
    static constexpr cost cost_of(shape in) {
        cost c{};
        ((c = cost{std::max(c.params, Alts::cost_of(Alts::expected_input(in)).params),
                   std::max(c.macs, Alts::cost_of(Alts::expected_input(in)).macs),
                   std::max(c.activations, Alts::cost_of(Alts::expected_input(in)).activations)}),
         ...);
        return c;
    }
    static std::string spelling() {
        std::string s = "archetype::choice<\"" + std::string(name) + "\"";
        ((s += ", " + Alts::spelling()), ...);
        return s + ">";
    }

    template <shape In>
    struct op : op_base<choice, In> {
        static constexpr bool composite = true;
        static constexpr bool decision = true;
        static constexpr std::string_view name = choice::name;
        static constexpr std::size_t alternatives = size;

        template <std::size_t I>
        using child = typename type_at<I, Alts...>::template op<type_at<I, Alts...>::expected_input(In)>;

        static constexpr bool checked = [] {
            return [&]<std::size_t... I>(std::index_sequence<I...>) {
                return (check_input_shape<I, In, Alts::expected_input(In)>() && ...) &&
                       (check_choice_output<Name, I, child<I>::out, child<0>::out>() && ...);
            }(std::make_index_sequence<size>{});
        }();
        static_assert(checked, "archetype: choice: see the shape mismatch reported above");
        static constexpr shape out = child<0>::out;

        template <class F>
        static constexpr std::array<std::size_t, size + 1> prefix(std::size_t first, F f) {
            std::array<std::size_t, size + 1> r{};
            r[0] = first;
            std::size_t i = 0;
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                ((r[i + 1] = r[i] + f.template operator()<child<I>>(), ++i), ...);
            }(std::make_index_sequence<size>{});
            return r;
        }
        static constexpr auto w_off = prefix(0, []<class C>() { return C::param_count; });
        static constexpr auto s_off = prefix(1, []<class C>() { return C::state_count; });  // [0] = selector
        static constexpr std::size_t param_count = w_off[size];
        static constexpr std::size_t state_count = s_off[size];
        static constexpr std::size_t work_size(std::size_t batch) {
            std::size_t m = 0;
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                ((m = std::max(m, child<I>::work_size(batch))), ...);
            }(std::make_index_sequence<size>{});
            return m;
        }

        static std::size_t selected(const slots& s) {
            const float v = s.state[0];
            if (!(v >= 0.0f && v < float(size)) || float(std::size_t(v)) != v)
                throw error("choice \"" + std::string(name) + "\": the selected alternative " + std::to_string(v) +
                            " is not one of 0.." + std::to_string(size - 1) +
                            "; set a valid genotype before running the network");
            return std::size_t(v);
        }

        static void init(float* w, float* state, rng& g) {
            state[0] = 0.0f;
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (child<I>::init(w + w_off[I], state + s_off[I], g), ...);
            }(std::make_index_sequence<size>{});
        }

        template <std::size_t I>
        static slots child_slots(const slots& s) {
            return s.offset(w_off[I], s_off[I], 0);
        }
        static void forward(const context& c, const slots& s, const float* x, float* y) {
            const std::size_t k = selected(s);
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                ((k == I ? (child<I>::forward(c, child_slots<I>(s), x, y), observe<child<I>>(c, y)) : void()), ...);
            }(std::make_index_sequence<size>{});
        }
        static void backward(const context& c, const slots& s, const float* x, const float* y, const float* dy,
                             float* dx) {
            const std::size_t k = selected(s);
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                ((k == I ? child<I>::backward(c, child_slots<I>(s), x, y, dy, dx) : void()), ...);
            }(std::make_index_sequence<size>{});
        }

        // A visitor may define `template <class ChoiceOp> long on_choice(std::size_t state_offset)`:
        // a result k >= 0 visits only alternative k; a negative one (or no on_choice) visits all.
        template <class V>
        static constexpr void visit(V& v, std::size_t w, std::size_t st) {
            long k = -1;
            if constexpr (requires { v.template on_choice<op>(st); }) k = v.template on_choice<op>(st);
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                ((k < 0 || std::size_t(k) == I ? visit_leaves<child<I>>(v, w + w_off[I], st + s_off[I]) : void()),
                 ...);
            }(std::make_index_sequence<size>{});
        }
    };
};

}  // namespace archetype
