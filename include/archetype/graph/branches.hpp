// archetype/graph/branches.hpp — parallel branches on one input: `sum<B...>`, `concat<B...>` and
// `residual<L...>` (= sum of identity and sequential<L...>).
//
// Contract: every branch receives the same input. sum needs all branch outputs equal; concat needs
// equal height and width and stacks channels in branch order. A branch of the wrong shape stops
// compilation in check_branch_output with the branch position and both shapes. Branch parameters are
// laid out in branch order; gradients of the shared input are summed in branch order (deterministic).
#pragma once

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "archetype/graph/sequential.hpp"
#include "archetype/layers/identity.hpp"

namespace archetype {

template <std::size_t Position, shape Got, shape Expected>
constexpr bool check_branch_output() {
    static_assert(Got == Expected,
                  "archetype: branch shape mismatch: the branch at Position (counting from 0; in a residual, "
                  "0 is the skip and 1 the body) produces shape Got but the combination needs shape Expected "
                  "(sum/residual: equal shapes; concat: equal height and width); see the instantiation of "
                  "archetype::check_branch_output in this diagnostic");
    return Got == Expected;
}

namespace detail {

enum class combine { sum, concat };

template <combine K, class Self, class... Bs>
struct branches_impl {
    static constexpr std::size_t size = sizeof...(Bs);
    static_assert(size > 0, "archetype: sum/concat need at least one branch");

    static constexpr shape expected_input(shape in) {
        shape e = in;
        ((e = (e == in && !(Bs::expected_input(in) == in)) ? Bs::expected_input(in) : e), ...);
        return e;
    }
    static constexpr std::array<shape, size> branch_outputs(shape in) {
        return {Bs::output(Bs::expected_input(in))...};
    }
    // What branch i must produce for the combination to be well formed.
    static constexpr shape required(shape in, std::size_t i) {
        const auto o = branch_outputs(in);
        if constexpr (K == combine::sum) return o[0];
        else return {o[i].c, o[0].h, o[0].w};
    }
    static constexpr shape output(shape in) {
        const auto o = branch_outputs(in);
        if constexpr (K == combine::sum) {
            return o[0];
        } else {
            int c = 0;
            for (auto s : o) c += s.c;
            return {c, o[0].h, o[0].w};
        }
    }
    static constexpr cost cost_of(shape in) {
        cost c{0, 0, output(in).size()};
        ((c = c + Bs::cost_of(Bs::expected_input(in))), ...);
        return c;
    }

    template <shape In>
    struct op : op_base<Self, In> {
        static constexpr bool composite = true;
        static constexpr auto outs = branch_outputs(In);
        static constexpr shape out = output(In);

        static constexpr bool checked = [] {
            return [&]<std::size_t... I>(std::index_sequence<I...>) {
                return (check_input_shape<I, In, Bs::expected_input(In)>() && ...) &&
                       (check_branch_output<I, outs[I], required(In, I)>() && ...);
            }(std::make_index_sequence<size>{});
        }();
        static_assert(checked, "archetype: sum/concat/residual: see the shape mismatch reported above");

        template <std::size_t I>
        using child = typename type_at<I, Bs...>::template op<type_at<I, Bs...>::expected_input(In)>;

        template <class F>
        static constexpr std::array<std::size_t, size + 1> prefix(F f) {
            std::array<std::size_t, size> a = [&]<std::size_t... I>(std::index_sequence<I...>) {
                return std::array<std::size_t, size>{f.template operator()<child<I>>()...};
            }(std::make_index_sequence<size>{});
            std::array<std::size_t, size + 1> r{};
            for (std::size_t i = 0; i < size; ++i) r[i + 1] = r[i] + a[i];
            return r;
        }
        static constexpr auto w_off = prefix([]<class C>() { return C::param_count; });
        static constexpr auto s_off = prefix([]<class C>() { return C::state_count; });
        static constexpr std::size_t param_count = w_off[size];
        static constexpr std::size_t state_count = s_off[size];

        static constexpr std::size_t max_out() {
            std::size_t m = 0;
            for (auto s : outs) m = std::max(m, s.size());
            return m;
        }
        // workspace: [branch outputs][branch dy (concat)][input-gradient temp][branch works]
        static constexpr std::size_t out_off(std::size_t batch, std::size_t i) {
            std::size_t o = 0;
            for (std::size_t j = 0; j < i; ++j) o += batch * outs[j].size();
            return o;
        }
        static constexpr std::size_t dy_off(std::size_t batch) { return out_off(batch, size); }
        static constexpr std::size_t dx_off(std::size_t batch) {
            return dy_off(batch) + (K == combine::concat ? batch * max_out() : 0);
        }
        static constexpr std::size_t work_off(std::size_t batch, std::size_t i) {
            std::size_t o = dx_off(batch) + (size > 1 ? batch * In.size() : 0);
            [&]<std::size_t... J>(std::index_sequence<J...>) {
                ((o += J < i ? child<J>::work_size(batch) : 0), ...);
            }(std::make_index_sequence<size>{});
            return o;
        }
        static constexpr std::size_t work_size(std::size_t batch) { return work_off(batch, size); }

        template <std::size_t I>
        static slots child_slots(const context& c, const slots& s) {
            return s.offset(w_off[I], s_off[I], work_off(c.batch, I));
        }

        static void init(float* w, float* state, rng& g) {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (child<I>::init(w + w_off[I], state + s_off[I], g), ...);
            }(std::make_index_sequence<size>{});
        }

        static void forward(const context& c, const slots& s, const float* x, float* y) {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                ((child<I>::forward(c, child_slots<I>(c, s), x, s.work + out_off(c.batch, I)),
                  observe<child<I>>(c, s.work + out_off(c.batch, I))),
                 ...);
            }(std::make_index_sequence<size>{});
            const std::size_t n = c.batch;
            if constexpr (K == combine::sum) {
                const std::size_t len = n * out.size();
                std::copy(s.work, s.work + len, y);
                for (std::size_t i = 1; i < size; ++i) {
                    const float* b = s.work + out_off(n, i);
                    for (std::size_t j = 0; j < len; ++j) y[j] += b[j];
                }
            } else {
                for (std::size_t b = 0; b < n; ++b) {
                    float* ys = y + b * out.size();
                    for (std::size_t i = 0; i < size; ++i) {
                        const float* src = s.work + out_off(n, i) + b * outs[i].size();
                        ys = std::copy(src, src + outs[i].size(), ys);
                    }
                }
            }
        }

        static void backward(const context& c, const slots& s, const float* x, const float*, const float* dy,
                             float* dx) {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (backward_child<I>(c, s, x, dy, dx), ...);
            }(std::make_index_sequence<size>{});
        }

        template <std::size_t I>
        static void backward_child(const context& c, const slots& s, const float* x, const float* dy, float* dx) {
            const std::size_t n = c.batch;
            const float* g = dy;
            if constexpr (K == combine::concat) {
                std::size_t c0 = 0;
                for (std::size_t j = 0; j < I; ++j) c0 += outs[j].size();
                float* buf = s.work + dy_off(n);
                for (std::size_t b = 0; b < n; ++b) {
                    const float* src = dy + b * out.size() + c0;
                    std::copy(src, src + outs[I].size(), buf + b * outs[I].size());
                }
                g = buf;
            }
            float* tmp = (I == 0 || !dx) ? dx : s.work + dx_off(n);
            child<I>::backward(c, child_slots<I>(c, s), x, s.work + out_off(n, I), g, tmp);
            if (dx && I > 0) {
                const std::size_t len = n * In.size();
                for (std::size_t j = 0; j < len; ++j) dx[j] += tmp[j];
            }
        }

        template <class V>
        static constexpr void visit(V& v, std::size_t w, std::size_t st) {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (visit_leaves<child<I>>(v, w + w_off[I], st + s_off[I]), ...);
            }(std::make_index_sequence<size>{});
        }
    };
};

}  // namespace detail

template <class... Bs>
struct sum : detail::branches_impl<detail::combine::sum, sum<Bs...>, Bs...> {
    static std::string spelling() { return detail::spell_pack<Bs...>("sum"); }
};

template <class... Bs>
struct concat : detail::branches_impl<detail::combine::concat, concat<Bs...>, Bs...> {
    static std::string spelling() { return detail::spell_pack<Bs...>("concat"); }
};

// y = x + body(x), body = sequential<Ls...>; body must preserve the shape.
template <class... Ls>
struct residual : detail::branches_impl<detail::combine::sum, residual<Ls...>, identity, sequential<Ls...>> {
    static std::string spelling() { return detail::spell_pack<Ls...>("residual"); }
};

}  // namespace archetype
