// Code generation of a genotype's fixed architecture: resolved spellings, the claim that the fixed
// network's layout is the supernet's selected leaves in visit order (checked by running both: outputs
// must be identical bit for bit), the generated header's text and its exact hex-float weights.
// The generated header is compiled and run by the CTest codegen_roundtrip (tests/codegen/).
#include <doctest/doctest.h>

#include <bit>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>

#include "archetype/layers/activation.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/space/codegen.hpp"
#include "codegen/random_weights.hpp"

namespace at = archetype;

using act = at::choice<"act", at::option<"relu", at::relu>, at::option<"tanh", at::tanh>, at::identity>;
using merge = at::choice<"merge", at::option<"sum", at::sum<at::dense<6>, at::identity>>,
                         at::option<"cat", at::concat<at::dense<2>, at::dense<4>>>>;
using head = at::choice<"head", at::dense<3>, at::sequential<at::batch_norm, at::dense<3, false>>>;
using body = at::sequential<at::batch_norm, at::flatten, at::dense<6>, at::repeat<2, at::residual<at::dense<6>, act>>,
                            merge, head>;
using sp = at::search_space<at::shape{2, 3, 3}, body>;

// What two genotypes select, written by hand.
constexpr sp::genotype g1{1, 1, 1};  // act=tanh, merge=cat, head=1
using fixed1 = at::sequential<at::batch_norm, at::flatten, at::dense<6>,
                              at::repeat<2, at::residual<at::dense<6>, at::tanh>>,
                              at::concat<at::dense<2>, at::dense<4>>,
                              at::sequential<at::batch_norm, at::dense<3, false>>>;
constexpr sp::genotype g2{2, 0, 0};  // act=2 (identity), merge=sum, head=0
using fixed2 = at::sequential<at::batch_norm, at::flatten, at::dense<6>,
                              at::repeat<2, at::residual<at::dense<6>, at::identity>>,
                              at::sum<at::dense<6>, at::identity>, at::dense<3>>;

TEST_CASE("the resolved spelling replaces every choice by its selected alternative, options by their layer") {
    CHECK(at::resolved_spelling<sp>(g1) ==
          "archetype::sequential<archetype::batch_norm, archetype::flatten, archetype::dense<6, true>, "
          "archetype::repeat<2, archetype::residual<archetype::dense<6, true>, archetype::tanh>>, "
          "archetype::concat<archetype::dense<2, true>, archetype::dense<4, true>>, "
          "archetype::sequential<archetype::batch_norm, archetype::dense<3, false>>>");
    CHECK(at::resolved_spelling<sp>(g1) == fixed1::spelling());
    CHECK(at::resolved_spelling<sp>(g2) == fixed2::spelling());
    CHECK(at::resolved_spelling<sp, merge>(g1) ==
          "archetype::concat<archetype::dense<2, true>, archetype::dense<4, true>>");
    CHECK_THROWS_AS(at::resolved_spelling<sp>({3, 0, 0}), at::error);
    using other = at::choice<"other", at::identity>;
    CHECK_THROWS_WITH_AS((at::resolved_spelling<sp, other>(g1)), doctest::Contains("\"other\" is not a decision"),
                         at::error);
}

// A composition codegen does not know: its choice stays in its spelling, which must be an error.
struct opaque : at::sequential<at::choice<"w", at::identity, at::zero>> {};
using opaque_space = at::search_space<at::shape{2, 1, 1}, at::sequential<opaque, at::dense<2>>>;

TEST_CASE("a choice that codegen cannot reach is an error, not a wrong header") {
    CHECK_THROWS_WITH_AS(at::resolved_spelling<opaque_space>({1}),
                         doctest::Contains("specialise archetype::resolved<>"), at::error);
}

template <class Fixed>
void check_fixed_network_matches_supernet(const sp::genotype& g) {
    using fixed_net = at::network<at::shape{2, 3, 3}, Fixed>;
    sp::network_type super{at::seed{5}};
    at::rng r{at::seed{6}};
    codegen_test::randomize(super, r);
    sp::apply(super, g);
    const at::fixed_weights w = at::selected_weights<sp>(super, g);
    CHECK(w.params.size() == fixed_net::param_count);
    CHECK(w.state.size() == fixed_net::state_count);
    CHECK(w.params.size() == sp::cost_of(g).params);
    CHECK(sp::network_type::state_count > fixed_net::state_count);  // selectors and other alternatives' state

    fixed_net fixed{at::seed{99}};
    REQUIRE(fixed.params().size() == w.params.size());
    REQUIRE(fixed.state().size() == w.state.size());
    std::copy(w.params.begin(), w.params.end(), fixed.params().begin());
    std::copy(w.state.begin(), w.state.end(), fixed.state().begin());
    constexpr std::size_t batch = 3, n_out = 3;
    std::vector<float> x(batch * 18);
    for (float& v : x) v = r.uniform(-2.0f, 2.0f);
    const float* y_super = super.forward_raw(x.data(), batch, false);
    const std::vector<float> expected(y_super, y_super + batch * n_out);
    const float* y_fixed = fixed.forward_raw(x.data(), batch, false);
    CHECK(std::memcmp(y_fixed, expected.data(), expected.size() * sizeof(float)) == 0);  // identical bits
    CHECK(std::abs(expected[0]) > 1e-3f);  // the comparison is not between zeros
}

TEST_CASE("the fixed network's weights are the supernet's selected leaves in visit order (outputs bit-identical)") {
    check_fixed_network_matches_supernet<fixed1>(g1);
    check_fixed_network_matches_supernet<fixed2>(g2);
}

TEST_CASE("hex-float literals are exact") {
    CHECK(at::detail::hex_float(1.5f, 0, "p") == "0x1.8p+0f");
    CHECK(at::detail::hex_float(-0.75f, 0, "p") == "-0x1.8p-1f");
    CHECK(at::detail::hex_float(-0.0f, 0, "p") == "-0x0p+0f");
    CHECK(at::detail::hex_float(0.1f, 0, "p") == "0x1.99999ap-4f");
    CHECK(at::detail::hex_float(std::numeric_limits<float>::denorm_min(), 0, "p") == "0x0.000002p-126f");
    CHECK_THROWS_WITH_AS(at::detail::hex_float(std::numeric_limits<float>::infinity(), 7, "parameter"),
                         doctest::Contains("parameter value 7 of the selected architecture is inf"), at::error);
}

namespace {
// The floats of `inline constexpr std::array<float, N> <name> = {...};` in a generated header.
std::vector<float> embedded(const std::string& header, const std::string& name) {
    const std::size_t at = header.find("> " + name + " = {");
    REQUIRE(at != std::string::npos);
    const std::size_t end = header.find("};", at);
    std::vector<float> v;
    std::size_t p = header.find('{', at) + 1;
    while (true) {
        p = header.find_first_not_of(" \n", p);
        if (p >= end) break;
        const bool negative = header[p] == '-';
        p += negative ? 3 : 2;  // "-0x" or "0x"
        float f = 0;
        const auto r = std::from_chars(header.data() + p, header.data() + end, f, std::chars_format::hex);
        REQUIRE(r.ec == std::errc());
        REQUIRE(std::string_view(r.ptr, 2) == "f,");
        v.push_back(negative ? -f : f);
        p = std::size_t(r.ptr - header.data()) + 2;
    }
    return v;
}
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
}  // namespace

TEST_CASE("the generated header declares the fixed type, embeds the selected weights exactly and loads them") {
    sp::network_type super{at::seed{5}};
    at::rng r{at::seed{8}};
    codegen_test::randomize(super, r);
    super.params()[3] = -0.0f;
    const std::string h = at::generate_header<sp>(super, g1, {.name = "winner", .namespace_name = "demo::nets"});
    const std::string type = "archetype::network<archetype::shape{2, 3, 3}, " + fixed1::spelling() + ">";
    CHECK(h.find("\nusing winner = " + type + ";\n") != std::string::npos);
    CHECK(h.find("// genotype: act=tanh,merge=cat,head=1\n") != std::string::npos);
    CHECK(h.find("\nnamespace demo::nets {\n") != std::string::npos);
    CHECK(h.find("inline void load_winner(winner& net) {") != std::string::npos);
    CHECK(h.find("static_assert(winner::param_count == winner_params.size() && winner::state_count == "
                 "winner_state.size(),") != std::string::npos);
    CHECK(h.find("#include <archetype/architecture.hpp>\n") != std::string::npos);  // every layer and block
    const at::fixed_weights w = at::selected_weights<sp>(super, g1);
    CHECK(same_bits(embedded(h, "winner_params"), w.params));
    CHECK(same_bits(embedded(h, "winner_state"), w.state));
    CHECK(h.find("std::array<float, " + std::to_string(w.state.size()) + "> winner_state") != std::string::npos);
    CHECK(std::signbit(w.params[3]));  // -0 survives (the first batch_norm's β[1])
    CHECK(h.find("-0x0p+0f,") != std::string::npos);
}

using stateless = at::search_space<at::shape{2, 1, 1}, at::sequential<at::choice<"c", at::identity, at::dense<2>>>>;

TEST_CASE("an architecture without state gets a zero-length state array and the default names") {
    stateless::network_type super{at::seed{1}};
    const std::string h = at::generate_header<stateless>(super, {1});
    CHECK(h.find("\nusing best_net = archetype::network<archetype::shape{2, 1, 1}, "
                 "archetype::sequential<archetype::dense<2, true>>>;\n") != std::string::npos);
    CHECK(h.find("inline constexpr std::array<float, 0> best_net_state = {};\n") != std::string::npos);
    CHECK(h.find("inline constexpr std::array<float, 6> best_net_params = {") != std::string::npos);
    CHECK(h.find("namespace") == std::string::npos);
}

TEST_CASE("codegen rejects what would not compile or would lose information") {
    sp::network_type super{at::seed{5}};
    CHECK_THROWS_WITH_AS(at::generate_header<sp>(super, g1, {.name = "best-net"}),
                         doctest::Contains("\"best-net\" is not a C++ identifier"), at::error);
    for (const char* ns : {"a::", "::a", "a:b", "1a", "a::::b"})
        CHECK_THROWS_WITH_AS(at::generate_header<sp>(super, g1, {.namespace_name = ns}),
                             doctest::Contains("is not a C++ namespace name"), at::error);
    CHECK_THROWS_WITH_AS(at::generate_header<sp>(super, g1, {.includes = {"my.hpp"}}),
                         doctest::Contains("must be written <path> or \"path\""), at::error);
    CHECK(at::generate_header<sp>(super, g1, {.includes = {"\"my.hpp\""}}).find("#include \"my.hpp\"\n") !=
          std::string::npos);
    // a non-finite weight of the selected architecture; the same one in an unselected alternative is fine
    const std::size_t first_dense = 4;
    super.params()[first_dense + 5] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH_AS(at::generate_header<sp>(super, g1), doctest::Contains("parameter value 9 of the selected"),
                         at::error);
}

TEST_CASE("write_header writes the generated text atomically, and names the path when it cannot") {
    sp::network_type super{at::seed{5}};
    const auto dir = std::filesystem::temp_directory_path() / ("archetype_codegen_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto path = dir / "best_net.hpp";
    at::write_header<sp>(super, g2, path, {.namespace_name = "x"});
    const auto bytes = at::read_file(path);
    CHECK(std::string(bytes.begin(), bytes.end()) == at::generate_header<sp>(super, g2, {.namespace_name = "x"}));
    CHECK(std::distance(std::filesystem::directory_iterator(dir), {}) == 1);  // no temporary left behind
    std::filesystem::remove_all(dir);
    CHECK_THROWS_WITH_AS(at::write_header<sp>(super, g2, dir / "best_net.hpp"), doctest::Contains("best_net.hpp"),
                         at::error);
}
