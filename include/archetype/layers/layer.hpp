// archetype/layers/layer.hpp — the protocol every layer, block and composition follows.
//
// A *descriptor* is the type a user writes (`conv2d<6, 5>`, `relu`, `sequential<...>`). It holds no
// data. It answers, as constexpr functions of the input shape of one sample:
//     static constexpr shape output(shape in);           // output shape
//     static constexpr shape expected_input(shape in);   // == in when the layer accepts `in`; otherwise
//                                                        //    the nearest shape it would accept
//     static constexpr cost  cost_of(shape in);          // params, MACs, activations (this layer only)
//     static std::string spelling();                     // the C++ spelling of the type, e.g.
//                                                        //    "archetype::conv2d<6, 5, 1, 0, 1, 1, true>"
// and binds to an input shape as `D::template op<In>`, the run-time *op*:
//     using descriptor = D; static constexpr shape in, out;
//     static constexpr std::size_t param_count, state_count;   // trainable / non-trainable floats
//     static constexpr std::size_t work_size(std::size_t batch); // floats of scratch kept from forward
//                                                                //   to backward (activations, caches)
//     static void init(float* w, float* state, rng&);            // PyTorch-default initialisation
//     static void forward(const context&, const slots&, const float* x, float* y);
//     static void backward(const context&, const slots&, const float* x, const float* y,
//                          const float* dy, float* dx);
// Data layout: x is [batch][in.c][in.h][in.w] (NCHW), y likewise with `out`. forward writes all of y.
// backward writes all of dx (dx may be null: then the input gradient is not needed and is skipped),
// and *adds* parameter gradients into slots.dw (the trainer zeroes dw between steps). backward may
// rely on x, y and slots.work exactly as the last forward with the same batch left them.
// Ops are stateless: all data lives in the network's arenas (parameters, state, workspace), so a
// network type costs no storage per layer and composition needs no tuple.
// Compositions (sequential, residual, ...) additionally set `static constexpr bool composite = true`
// and provide `template <class V> static void visit(V& v, std::size_t w_offset, std::size_t s_offset)`
// that calls visit_leaves on each child; visit_leaves calls `v.template leaf<Op>(w_offset, s_offset)`
// for each leaf op in forward order, with the offsets of its parameters and state in the arenas.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>

#include "archetype/core/core.hpp"

namespace archetype {

// Cost of one sample through a layer. `activations` counts the output values the layer produces.
struct cost {
    std::size_t params = 0;       // trainable parameters (BN counts γ and β; running stats are state)
    std::size_t macs = 0;         // multiply-accumulates of conv and dense weights (no bias/BN/act/pool)
    std::size_t activations = 0;  // output floats per sample

    constexpr cost operator+(const cost& o) const {
        return {params + o.params, macs + o.macs, activations + o.activations};
    }
    constexpr bool operator==(const cost&) const = default;
};

// Sees the output of every leaf layer during a forward (zero-cost proxies, quantisation observers,
// debugging). `spelling` identifies the layer's type; y holds batch × out.size() values (NCHW).
struct forward_observer {
    virtual ~forward_observer() = default;
    virtual void on_forward(std::string (*spelling)(), shape out, const float* y, std::size_t batch) = 0;
};

// What a forward or backward call needs besides its tensors.
struct context {
    std::size_t batch = 1;
    bool training = false;                 // batch norm uses batch statistics and updates running ones
    thread_pool* pool = nullptr;           // null: serial
    forward_observer* observer = nullptr;  // null: nobody watches
};

// Where this op's data lives in the network's arenas.
struct slots {
    const float* w = nullptr;  // parameters (param_count floats)
    float* dw = nullptr;       // parameter gradients, accumulated by backward (may be null in inference)
    float* state = nullptr;    // non-trainable state, e.g. running statistics (state_count floats)
    float* work = nullptr;     // scratch (work_size(batch) floats)

    slots offset(std::size_t w_off, std::size_t s_off, std::size_t work_off) const {
        return {w ? w + w_off : nullptr, dw ? dw + w_off : nullptr, state ? state + s_off : nullptr,
                work ? work + work_off : nullptr};
    }
};

// Defaults for ops: no parameters, no state, no scratch, nothing to initialise.
template <class D, shape In>
struct op_base {
    using descriptor = D;
    static constexpr shape in = In;
    static constexpr shape out = D::output(In);
    static constexpr std::size_t param_count = 0;
    static constexpr std::size_t state_count = 0;
    static constexpr std::size_t work_size(std::size_t) { return 0; }
    static void init(float*, float*, rng&) {}
};

template <class Op>
concept composite_op = requires { requires Op::composite; };

// Compositions call this after each child's forward: it reports leaf outputs to the observer.
template <class Op>
void observe(const context& c, const float* y) {
    if constexpr (!composite_op<Op>) {
        if (c.observer) c.observer->on_forward(&Op::descriptor::spelling, Op::out, y, c.batch);
    }
}

// Calls v.template leaf<Op>(w_offset, s_offset) for every leaf op inside Op, in forward order.
template <class Op, class V>
constexpr void visit_leaves(V& v, std::size_t w_offset = 0, std::size_t s_offset = 0) {
    if constexpr (composite_op<Op>) {
        Op::visit(v, w_offset, s_offset);
    } else {
        v.template leaf<Op>(w_offset, s_offset);
    }
}

// Fails to compile, naming the position and both shapes in the instantiation note, when a layer
// does not accept the shape it is given. Used by every composition.
template <std::size_t Position, shape Got, shape Expected>
constexpr bool check_input_shape() {
    static_assert(Got == Expected,
                  "archetype: shape mismatch: the layer at Position (counting from 0 in its sequential) "
                  "receives shape Got but needs shape Expected; see 'Position', 'Got' and 'Expected' in "
                  "the instantiation of archetype::check_input_shape in this diagnostic");
    return Got == Expected;
}

// std::to_string for spelling() of integer template arguments.
inline std::string spell_args() { return {}; }
template <class T, class... Ts>
std::string spell_args(T first, Ts... rest) {
    std::string s;
    if constexpr (std::is_same_v<T, bool>) {
        s = first ? "true" : "false";
    } else {
        s = std::to_string(first);
    }
    ((s += ", " + spell_args(rest)), ...);
    return s;
}

namespace detail {
// "archetype::name<A, B, ...>" from the spellings of a pack of descriptors.
template <class... Ls>
std::string spell_pack(const char* name) {
    std::string s = std::string("archetype::") + name + "<";
    bool first = true;
    ((s += (first ? "" : ", ") + Ls::spelling(), first = false), ...);
    return s + ">";
}
}  // namespace detail

}  // namespace archetype
