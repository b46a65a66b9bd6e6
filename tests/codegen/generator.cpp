// Generator of the codegen_roundtrip test (tests/codegen/run.cmake): builds the supernet of a small space
// (a convolution stage whose choice is forced to the MBConv block and pooling to average pooling, so the
// header must name blocks and layers of several folders; choices inside a repeated residual, a
// sum/concat choice, a head choice with batch_norm state), gives it
// random weights, samples a genotype, and writes into the directory argv[1]:
//   best_net.hpp   — archetype::write_header of that genotype (namespace codegen_test, name best_net)
//   reference.hpp  — a fixed input batch, the supernet's output on it (hex floats, exact) and the cost
//                    of the genotype, for consumer.cpp to compare with the fixed network.
#include <cstdio>
#include <filesystem>
#include <vector>

#include "archetype/blocks/mbconv.hpp"
#include "archetype/blocks/separable.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/conv2d.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/pool.hpp"
#include "archetype/space/codegen.hpp"
#include "random_weights.hpp"

namespace at = archetype;

using act = at::choice<"act", at::option<"relu", at::relu>, at::option<"tanh", at::tanh>,
                       at::option<"hswish", at::hard_swish>>;
using inner = at::choice<"inner", at::option<"skip", at::identity>, at::option<"dense", at::dense<8>>,
                         at::option<"zero", at::zero>>;
using block = at::residual<at::dense<8>, act, inner>;
using merge = at::choice<"merge", at::option<"sum", at::sum<at::dense<8>, at::identity>>,
                         at::option<"cat", at::concat<at::dense<5>, at::dense<3>>>>;
using head = at::choice<"head", at::dense<4>, at::sequential<at::batch_norm, at::dense<4, false>>>;
using conv = at::choice<"conv", at::option<"c3", at::conv2d<4, 3, 1, 1>>, at::option<"sep", at::depthwise_separable<4>>,
                        at::option<"mb", at::mbconv<4, 3, 1, 2>>>;
using pool = at::choice<"pool", at::option<"max", at::max_pool<2>>, at::option<"avg", at::avg_pool<2>>>;
using body = at::sequential<at::batch_norm, at::choice<"stem", at::relu, at::sigmoid>, conv, pool, at::flatten,
                            at::dense<8>, at::repeat<2, block>, merge, head>;
using space = at::search_space<at::shape{2, 6, 6}, body>;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    try {
        at::rng r{at::seed{2024}};
        space::network_type net{at::seed{1}};
        codegen_test::randomize(net, r);
        space::genotype g = space::sample(r);
        g[space::find("conv")] = 2;  // mb
        g[space::find("pool")] = 1;  // avg
        space::apply(net, g);

        constexpr std::size_t batch = 3;
        std::vector<float> x(batch * space::network_type::input_shape.size());
        for (float& v : x) v = r.uniform(-2.0f, 2.0f);
        const float* y = net.forward_raw(x.data(), batch, false);
        const std::vector<float> out(y, y + batch * space::network_type::output_shape.size());

        at::write_header<space>(net, g, dir / "best_net.hpp", {.name = "best_net", .namespace_name = "codegen_test"});
        std::string ref = "// reference.hpp — written by tests/codegen/generator.cpp for genotype " +
                          at::to_text<space>(g) + "\n#pragma once\n#include <array>\n#include <cstddef>\n\n" +
                          "namespace codegen_test {\n" +
                          "inline constexpr std::size_t reference_batch = " + std::to_string(batch) + ";\n" +
                          "inline constexpr std::size_t reference_params = " +
                          std::to_string(space::cost_of(g).params) + ";\n" +
                          "inline constexpr std::size_t reference_macs = " + std::to_string(space::cost_of(g).macs) +
                          ";\n";
        at::detail::append_array(ref, "reference_input", x, "input");
        at::detail::append_array(ref, "reference_output", out, "output");
        ref += "}  // namespace codegen_test\n";
        at::write_file_atomically(dir / "reference.hpp", ref);
        std::printf("codegen generator: genotype %s, %zu parameters, output[0] = %a\n", at::to_text<space>(g).c_str(),
                    space::cost_of(g).params, double(out[0]));
    } catch (const at::error& e) {
        std::fprintf(stderr, "codegen generator: %s\n", e.what());
        return 1;
    }
    return 0;
}
