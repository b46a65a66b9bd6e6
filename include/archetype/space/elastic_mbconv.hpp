// archetype/space/elastic_mbconv.hpp — `elastic_mbconv<"name", Out, Stride, Act, Ks, Es>`: an MBConv
// whose kernel size and expand ratio are two decisions, switched at run time in one compiled function.
//
// Contract: the decisions "name_k" (alternatives Ks, e.g. int_values<3, 5, 7>, labelled by value) and
// "name_e" (Es, e.g. int_values<3, 4, 6>) select the variant mbconv<Out, K, Stride, E, Act>; the block
// behaves exactly as value_grid<"name_k", "name_e", that mbconv, Ks, Es> would — same decisions and
// labels, same genotype text, same per-genotype costs, each variant owning its parameters and state in
// mbconv's own layout (variants back to back, K outer), same codegen output (mbconv) — but forward and
// backward run detail::mbconv_forward / mbconv_backward (blocks/mbconv_runtime.hpp) with the variant's
// geometry as run-time values: one function per activation instead of a composition of layers per
// variant and shape. (That is what keeps the Once-for-All space's compile time within budget; see the
// measurements in space/once_for_all.hpp.)
// Visitors see the two decisions through on_choice (state offsets +0 and +1 hold the selected kernel and
// expand indices) and then the leaves of the selected variant (of every variant when on_choice returns a
// negative index or is absent), as for nested choices. The variant types' layer compositions are
// instantiated as classes only (for shapes, costs, layouts); their forward/backward never are.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "archetype/blocks/dyn_mbconv.hpp"
#include "archetype/blocks/mbconv_runtime.hpp"
#include "archetype/space/codegen.hpp"
#include "archetype/space/elastic_depth.hpp"
#include "archetype/space/value_choice.hpp"

namespace archetype {

namespace detail {
template <std::size_t N>
constexpr auto with_suffix(const fixed_string<N>& base, char x) {
    char buf[N + 2]{};
    for (std::size_t i = 0; i + 1 < N; ++i) buf[i] = base.chars[i];
    buf[N - 1] = '_';
    buf[N] = x;
    return fixed_string<N + 2>(buf);
}

// A decision seen by visitors (name, alternatives, labels), held by a composite that is not a choice.
template <fixed_string Name, int... Values>
struct value_decision {
    using descriptor = value_decision;
    static constexpr std::string_view name = Name.view();
    static constexpr std::size_t alternatives = sizeof...(Values);
    static constexpr std::array<std::string_view, alternatives> labels{int_label_holder<Values>::value.view()...};
};

template <class Act>
struct activation_fn;
template <class D, class Fn>
struct activation_fn<activation_layer<D, Fn>> {
    using type = Fn;
};
template <class Act>
using activation_fn_t = typename activation_fn<typename Act::activation_layer>::type;
}  // namespace detail

template <fixed_string Name, int Out, int Stride, class Act, class Ks = int_values<3, 5, 7>,
          class Es = int_values<3, 4, 6>>
struct elastic_mbconv;

template <fixed_string Name, int Out, int Stride, class Act, int... Ks, int... Es>
struct elastic_mbconv<Name, Out, Stride, Act, int_values<Ks...>, int_values<Es...>> {
    static_assert(detail::all_distinct<Ks...>() && detail::all_distinct<Es...>(),
                  "archetype::elastic_mbconv: kernel sizes and expand ratios must be distinct");
    static constexpr std::size_t kernel_count = sizeof...(Ks), expand_count = sizeof...(Es);
    static constexpr std::size_t size = kernel_count * expand_count;
    static constexpr std::array<int, kernel_count> kernels{Ks...};
    static constexpr std::array<int, expand_count> expands{Es...};
    using kernel_decision = detail::value_decision<detail::with_suffix(Name, 'k'), Ks...>;
    using expand_decision = detail::value_decision<detail::with_suffix(Name, 'e'), Es...>;

    // Variant I = (kernel I / expand_count, expand I % expand_count).
    template <std::size_t I>
    using variant = dyn_mbconv<Out, kernels[I / expand_count], Stride, expands[I % expand_count], Act>;

    static constexpr shape expected_input(shape in) { return variant<0>::expected_input(in); }
    static constexpr shape output(shape in) { return variant<0>::output(in); }
    static constexpr cost cost_of(shape in) {  // the upper bound over the variants, as a choice's
        cost c{};
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((c = cost{std::max(c.params, variant<I>::cost_of(in).params), std::max(c.macs, variant<I>::cost_of(in).macs),
                       std::max(c.activations, variant<I>::cost_of(in).activations)}),
             ...);
        }(std::make_index_sequence<size>{});
        return c;
    }
    static std::string spelling() {
        std::string s = "archetype::elastic_mbconv<\"" + std::string(Name.view()) + "\", " + spell_args(Out, Stride) +
                        ", " + Act::spelling() + ", archetype::int_values<" + spell_args(Ks...) +
                        ">, archetype::int_values<" + spell_args(Es...) + ">>";
        return s;
    }

    template <shape In>
    struct op : op_base<elastic_mbconv, In> {
        static constexpr bool composite = true;
        template <std::size_t I>
        using child = typename variant<I>::template op<In>;
        static constexpr detail::mbconv_plan plan(std::size_t i) {
            return {std::size_t(In.c), std::size_t(In.h), std::size_t(In.w), std::size_t(Out),
                    std::size_t(kernels[i / expand_count]), std::size_t(Stride), std::size_t(expands[i % expand_count])};
        }
        static constexpr bool layouts_agree = []<std::size_t... I>(std::index_sequence<I...>) {
            return ((child<I>::param_count == plan(I).param_offsets().total &&
                     child<I>::state_count == plan(I).state_offsets().total && child<I>::out == child<0>::out) &&
                    ...);
        }(std::make_index_sequence<size>{});
        static_assert(layouts_agree, "archetype: elastic_mbconv's run-time plan disagrees with mbconv's layout");
        static constexpr shape out = child<0>::out;

        template <class F>
        static constexpr std::array<std::size_t, size + 1> prefix(std::size_t first, F f) {
            std::array<std::size_t, size + 1> r{};
            r[0] = first;
            for (std::size_t i = 0; i < size; ++i) r[i + 1] = r[i] + f(plan(i));
            return r;
        }
        static constexpr auto w_off = prefix(0, [](const detail::mbconv_plan& p) { return p.param_offsets().total; });
        static constexpr auto s_off = prefix(2, [](const detail::mbconv_plan& p) { return p.state_offsets().total; });
        static constexpr std::size_t param_count = w_off[size];
        static constexpr std::size_t state_count = s_off[size];  // [0] kernel index, [1] expand index
        static constexpr std::size_t work_size(std::size_t batch) {
            std::size_t m = 0;
            for (std::size_t i = 0; i < size; ++i) m = std::max(m, plan(i).work_floats(batch));
            return m;
        }

        static std::size_t index(const slots& s, std::size_t at, std::size_t n, std::string_view decision) {
            const float v = s.state[at];
            if (!(v >= 0.0f && v < float(n)) || float(std::size_t(v)) != v)
                throw error("elastic_mbconv \"" + std::string(decision) + "\": the selected alternative " +
                            std::to_string(v) + " is not one of 0.." + std::to_string(n - 1) +
                            "; set a valid genotype before running the network");
            return std::size_t(v);
        }
        static std::size_t selected(const slots& s) {
            return index(s, 0, kernel_count, kernel_decision::name) * expand_count +
                   index(s, 1, expand_count, expand_decision::name);
        }

        static void init(float* w, float* state, rng& g) {  // as each variant's layers, variants in order
            state[0] = state[1] = 0.0f;
            for (std::size_t i = 0; i < size; ++i) {
                const auto p = plan(i);
                const auto po = p.param_offsets(), so = p.state_offsets();
                float* vw = w + w_off[i];
                float* vs = state + s_off[i];
                const std::size_t hd = p.hidden();
                auto uniform = [&](float* at, std::size_t n, std::size_t fan_in) {
                    const float bound = 1.0f / std::sqrt(float(fan_in));
                    for (std::size_t j = 0; j < n; ++j) at[j] = g.uniform(-bound, bound);
                };
                auto bn = [](float* bw, float* bs, std::size_t ch) {
                    std::fill(bw, bw + ch, 1.0f), std::fill(bw + ch, bw + 2 * ch, 0.0f);
                    std::fill(bs, bs + ch, 0.0f), std::fill(bs + ch, bs + 2 * ch, 1.0f);
                };
                if (p.has_expand()) {
                    uniform(vw + po.expand_w, hd * p.c, p.c);
                    bn(vw + po.bn1, vs + so.bn1, hd);
                }
                uniform(vw + po.dw, hd * p.k * p.k, p.k * p.k);
                bn(vw + po.bn2, vs + so.bn2, hd);
                uniform(vw + po.project_w, p.out * hd, hd);
                bn(vw + po.bn3, vs + so.bn3, p.out);
            }
        }

        static void forward(const context& c, const slots& s, const float* x, float* y) {
            const std::size_t i = selected(s);
            detail::mbconv_forward<detail::activation_fn_t<Act>>(c, plan(i), s.offset(w_off[i], s_off[i], 0), x, y);
        }
        static void backward(const context& c, const slots& s, const float* x, const float*, const float* dy,
                             float* dx) {
            const std::size_t i = selected(s);
            detail::mbconv_backward<detail::activation_fn_t<Act>>(c, plan(i), s.offset(w_off[i], s_off[i], 0), x, dy,
                                                                  dx);
        }

        template <class V>
        static constexpr void visit(V& v, std::size_t w, std::size_t st) {
            long k = -1, e = -1;
            if constexpr (requires { v.template on_choice<kernel_decision>(st); }) {
                k = v.template on_choice<kernel_decision>(st);
                e = v.template on_choice<expand_decision>(st + 1);
            }
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (((k < 0 || std::size_t(k) == I / expand_count) && (e < 0 || std::size_t(e) == I % expand_count)
                      ? visit_leaves<child<I>>(v, w + w_off[I], st + s_off[I])
                      : void()),
                 ...);
            }(std::make_index_sequence<size>{});
        }
    };
};

// codegen writes the compile-time twins of the run-time-geometry blocks.
template <int Out, int K, int Stride, int Expand, class Act>
struct resolved<dyn_mbconv<Out, K, Stride, Expand, Act>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype&) {
        return mbconv<Out, K, Stride, Expand, Act>::spelling();
    }
};
template <int Out, bool Bias>
struct resolved<dyn_pointwise<Out, Bias>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype&) {
        return dyn_pointwise<Out, Bias>::twin::spelling();
    }
};
template <int Mult, bool Bias>
struct resolved<dyn_expand<Mult, Bias>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype&) {
        return dyn_expand<Mult, Bias>::twin::spelling();
    }
};
template <int K, int Stride>
struct resolved<dyn_depthwise<K, Stride>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype&) {
        return dyn_depthwise<K, Stride>::twin::spelling();
    }
};

template <fixed_string Name, int Out, int Stride, class Act, class Ks, class Es>
struct resolved<elastic_mbconv<Name, Out, Stride, Act, Ks, Es>> {
    using block = elastic_mbconv<Name, Out, Stride, Act, Ks, Es>;
    template <class Space>
    static std::string spelling(const typename Space::genotype& g) {
        const std::size_t k = Space::find(block::kernel_decision::name), e = Space::find(block::expand_decision::name);
        if (k == Space::decision_count || e == Space::decision_count)
            throw error("codegen: the elastic MBConv \"" + std::string(Name.view()) +
                        "\" is not part of the space; resolve a part of the space with that space's genotype");
        return "archetype::mbconv<" + spell_args(Out, block::kernels[g[k]], Stride, block::expands[g[e]]) + ", " +
               Act::spelling() + ">";
    }
};

}  // namespace archetype
