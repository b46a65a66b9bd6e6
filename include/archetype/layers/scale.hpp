// archetype/layers/scale.hpp — `excite<Gate>`: a feature map scaled channel-wise by a gate computed
// from the same feature map, y = x · Gate(x) (the "scale" step of squeeze-and-excitation).
//
// Contract: Gate is any descriptor taking the input {C, H, W} to {C, 1, 1} (one gate value per sample
// and channel); the output is y[n][c][h][w] = x[n][c][h][w] · g[n][c], shape {C, H, W}. A gate that
// rejects the input, or whose output is not {C, 1, 1}, stops compilation (check_input_shape,
// check_gate_output) naming both shapes.
//   backward: x reaches y along two paths, so dx = dy · g + Gate's input gradient for
//   dg[n][c] = Σ_{h,w} dy · x (summed in row-major order: deterministic).
// Parameters and state are Gate's. cost: Gate's cost plus the product's output as activations (the
// product is no MAC: MACs count weights only). Workspace: [g][dg][input-gradient temp][Gate's work].
// excite is a composite (it visits Gate's leaves), written with layer.hpp alone so that blocks/ and
// layers can use it; it holds no choice, so codegen spells it with spelling().
#pragma once

#include <algorithm>
#include <string>

#include "archetype/layers/layer.hpp"

namespace archetype {

template <shape Got, shape Expected>
constexpr bool check_gate_output() {
    static_assert(Got == Expected,
                  "archetype: excite<Gate>: the gate produces shape Got but must produce Expected = {C, 1, 1} "
                  "(one value per channel of the input); see 'Got' and 'Expected' in the instantiation of "
                  "archetype::check_gate_output in this diagnostic");
    return Got == Expected;
}

template <class Gate>
struct excite {
    // Below this many values per call, threads cost more than they save.
    static constexpr std::size_t parallel_threshold = 1u << 14;

    static constexpr shape output(shape in) { return in; }
    static constexpr shape expected_input(shape in) { return Gate::expected_input(in); }
    // What excite adds to its gate's cost: the product's output.
    static constexpr cost own_cost(shape in) { return {0, 0, in.size()}; }
    static constexpr cost cost_of(shape in) { return Gate::cost_of(Gate::expected_input(in)) + own_cost(in); }
    static std::string spelling() { return "archetype::excite<" + Gate::spelling() + ">"; }

    template <shape In>
    struct op : op_base<excite, In> {
        static constexpr bool composite = true;
        static constexpr shape gate_in = Gate::expected_input(In);
        using gate = typename Gate::template op<gate_in>;
        static constexpr bool checked =
            check_input_shape<0, In, gate_in>() && check_gate_output<gate::out, shape{In.c, 1, 1}>();
        static_assert(checked, "archetype: excite: see the shape mismatch reported above");

        static constexpr std::size_t channels = std::size_t(In.c);
        static constexpr std::size_t plane = std::size_t(In.h) * std::size_t(In.w);
        static constexpr std::size_t n = In.size();
        static constexpr std::size_t param_count = gate::param_count;
        static constexpr std::size_t state_count = gate::state_count;

        static constexpr std::size_t dg_off(std::size_t batch) { return batch * channels; }
        static constexpr std::size_t dx_off(std::size_t batch) { return 2 * batch * channels; }
        static constexpr std::size_t gate_work_off(std::size_t batch) { return dx_off(batch) + batch * n; }
        static constexpr std::size_t work_size(std::size_t batch) {
            return gate_work_off(batch) + gate::work_size(batch);
        }

        static thread_pool* pool_for(const context& c) {
            return c.batch * n >= parallel_threshold ? c.pool : nullptr;
        }
        static slots gate_slots(const context& c, const slots& s) { return s.offset(0, 0, gate_work_off(c.batch)); }

        static void init(float* w, float* state, rng& g) { gate::init(w, state, g); }

        static void forward(const context& c, const slots& s, const float* x, float* y) {
            const float* g = s.work;
            gate::forward(c, gate_slots(c, s), x, s.work);
            parallel_for(pool_for(c), c.batch, [&](std::size_t b) {
                for (std::size_t ch = 0; ch < channels; ++ch) {
                    const float k = g[b * channels + ch];
                    const float* xc = x + b * n + ch * plane;
                    float* yc = y + b * n + ch * plane;
                    for (std::size_t i = 0; i < plane; ++i) yc[i] = xc[i] * k;
                }
            });
        }

        static void backward(const context& c, const slots& s, const float* x, const float*, const float* dy,
                             float* dx) {
            const float* g = s.work;
            float* dg = s.work + dg_off(c.batch);
            parallel_for(pool_for(c), c.batch, [&](std::size_t b) {
                for (std::size_t ch = 0; ch < channels; ++ch) {
                    const std::size_t at = b * n + ch * plane;
                    const float k = g[b * channels + ch];
                    float acc = 0.0f;
                    for (std::size_t i = 0; i < plane; ++i) acc += dy[at + i] * x[at + i];
                    dg[b * channels + ch] = acc;
                    if (dx)
                        for (std::size_t i = 0; i < plane; ++i) dx[at + i] = dy[at + i] * k;
                }
            });
            float* tmp = dx ? s.work + dx_off(c.batch) : nullptr;
            gate::backward(c, gate_slots(c, s), x, g, dg, tmp);
            if (dx) {
                const std::size_t len = c.batch * n;
                for (std::size_t i = 0; i < len; ++i) dx[i] += tmp[i];
            }
        }

        template <class V>
        static constexpr void visit(V& v, std::size_t w, std::size_t st) {
            visit_leaves<gate>(v, w, st);
        }
    };
};

}  // namespace archetype
