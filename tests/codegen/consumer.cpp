// Consumer of the codegen_roundtrip test (tests/codegen/run.cmake): compiled against the best_net.hpp and
// reference.hpp that generator.cpp wrote, with the generator's exact compiler flags. It instantiates the
// fixed type, loads the embedded weights and checks that its output on the reference input is identical,
// bit for bit, to the supernet's (the same ops run in the same order, so no tolerance is needed).
#include <bit>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "best_net.hpp"
#include "reference.hpp"

using codegen_test::best_net;
static_assert(archetype::params_v<best_net> == codegen_test::reference_params);
static_assert(archetype::macs_v<best_net> == codegen_test::reference_macs);
static_assert(best_net::input_shape == archetype::shape{2, 6, 6});
static_assert(best_net::output_shape == archetype::shape{4, 1, 1});

int main() {
    const std::string type = best_net::spelling();
    if (type.find("choice") != std::string::npos || type.find("option") != std::string::npos) {
        std::printf("codegen consumer: the fixed type still holds a decision: %s\n", type.c_str());
        return 1;
    }
    auto net = std::make_unique<best_net>(archetype::seed{12345});  // other weights until loaded
    codegen_test::load_best_net(*net);
    const float* y = net->forward_raw(codegen_test::reference_input.data(), codegen_test::reference_batch, false);
    const auto& expected = codegen_test::reference_output;
    std::size_t differ = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (std::bit_cast<std::uint32_t>(y[i]) != std::bit_cast<std::uint32_t>(expected[i])) {
            if (differ++ < 5)
                std::printf("codegen consumer: output %zu is %a, the supernet gave %a\n", i, double(y[i]),
                            double(expected[i]));
        }
    }
    std::printf("codegen consumer: %zu of %zu outputs differ from the supernet's\n", differ, expected.size());
    if (differ) return 1;
    std::printf("codegen consumer: OK (%s)\n", type.c_str());
    return 0;
}
