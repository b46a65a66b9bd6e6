// tests/codegen/random_weights.hpp — random weights for a supernet, shared by test_codegen.cpp and the
// generated-header test's generator: every parameter uniform in [-1, 1], and every batch_norm's running
// mean uniform in [-0.5, 0.5] and running variance in [0.5, 2] (a choice's selector state is left alone).
#pragma once

#include <type_traits>

#include "archetype/layers/batchnorm.hpp"
#include "archetype/space/search_space.hpp"

namespace codegen_test {

struct batch_norm_state_filler {
    float* state;
    archetype::rng& r;
    template <class Op>
    void leaf(std::size_t, std::size_t s) {
        if constexpr (std::is_same_v<typename Op::descriptor, archetype::batch_norm>) {
            for (std::size_t c = 0; c < Op::channels; ++c) {
                state[s + c] = r.uniform(-0.5f, 0.5f);
                state[s + Op::channels + c] = r.uniform(0.5f, 2.0f);
            }
        }
    }
};

template <class Net>
void randomize(Net& net, archetype::rng& r) {
    for (float& w : net.params()) w = r.uniform(-1.0f, 1.0f);
    batch_norm_state_filler v{net.state().data(), r};
    archetype::visit_leaves<typename Net::op>(v);
}

}  // namespace codegen_test
