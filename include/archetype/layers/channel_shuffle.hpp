// archetype/layers/channel_shuffle.hpp — `channel_shuffle<Groups>`: ShuffleNet's channel shuffle, as
// PyTorch's nn.ChannelShuffle.
//
// Contract: keeps the shape {C, H, W}; C must be a multiple of Groups (otherwise a compile-time shape
// mismatch: expected_input rounds C to the nearest positive multiple). The channels, seen as a
// Groups × (C/Groups) matrix, are transposed: output channel j·Groups + g is input channel
// g·(C/Groups) + j. Each channel's H×W plane moves whole. channel_shuffle<C/Groups> undoes
// channel_shuffle<Groups>; channel_shuffle<1> and channel_shuffle<C> are the identity. No parameters,
// no MACs; the output counts as activations. backward moves the gradient planes back.
#pragma once

#include <algorithm>
#include <string>

#include "archetype/layers/layer.hpp"

namespace archetype {

template <int Groups>
struct channel_shuffle {
    static_assert(Groups > 0, "archetype::channel_shuffle<Groups>: Groups must be positive");
    // Below this many values per call, threads cost more than they save.
    static constexpr std::size_t parallel_threshold = 1u << 14;

    static constexpr shape output(shape in) { return in; }
    static constexpr shape expected_input(shape in) {
        if (in.c % Groups == 0) return in;
        const int below = in.c / Groups * Groups;
        const int above = below + Groups;
        const int c = (below == 0 || above - in.c < in.c - below) ? above : below;
        return {c, in.h, in.w};
    }
    static constexpr cost cost_of(shape in) { return {0, 0, in.size()}; }
    static std::string spelling() { return "archetype::channel_shuffle<" + spell_args(Groups) + ">"; }

    template <shape In>
    struct op : op_base<channel_shuffle, In> {
        static constexpr std::size_t per_group = std::size_t(In.c / Groups);
        static constexpr std::size_t plane = std::size_t(In.h) * std::size_t(In.w);
        static constexpr std::size_t n = In.size();

        // Input channel read by output channel `to`.
        static constexpr std::size_t source(std::size_t to) {
            return (to % std::size_t(Groups)) * per_group + to / std::size_t(Groups);
        }
        static thread_pool* pool_for(const context& c) {
            return c.batch * n >= parallel_threshold ? c.pool : nullptr;
        }
        static void forward(const context& c, const slots&, const float* x, float* y) {
            parallel_for(pool_for(c), c.batch, [&](std::size_t s) {
                for (std::size_t to = 0; to < std::size_t(In.c); ++to) {
                    const float* from = x + s * n + source(to) * plane;
                    std::copy(from, from + plane, y + s * n + to * plane);
                }
            });
        }
        static void backward(const context& c, const slots&, const float*, const float*, const float* dy,
                             float* dx) {
            if (!dx) return;
            parallel_for(pool_for(c), c.batch, [&](std::size_t s) {
                for (std::size_t to = 0; to < std::size_t(In.c); ++to) {
                    const float* from = dy + s * n + to * plane;
                    std::copy(from, from + plane, dx + s * n + source(to) * plane);
                }
            });
        }
    };
};

}  // namespace archetype
