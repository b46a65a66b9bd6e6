// archetype/space/codegen.hpp — the winner of a search as code: a fixed architecture and its weights.
//
// Contract:
// - resolved_spelling<Space>(g) is the C++ spelling of Space's body with every choice replaced by the
//   alternative g selects, recursively through sequential, repeat, residual, sum, concat and option (an
//   option is spelled as its inner layer); other descriptors are spelled by their spelling(). The
//   extension point is resolved<D>: specialise it for a composition that can hold choices. A choice left
//   inside a descriptor without a specialisation is an archetype::error.
// - selected_weights<Space>(net, g): the fixed network's parameters and state, taken from the supernet
//   `net`: the selected leaves' parameters (and state) concatenated in visit order, which is the layout
//   of network<In, resolved body> (no composition owns parameters; a choice's selector float is supernet
//   state that the fixed network does not have).
// - generate_header<Space>(net, g, options) is the text of a header that declares
//   `using <name> = archetype::network<archetype::shape{c, h, w}, <resolved body>>;`, the weights as
//   `inline constexpr std::array<float, N> <name>_params` and `<name>_state` (hex-float literals, so
//   exact), a static_assert that the type's layout has exactly those sizes, and
//   `void load_<name>(<name>& net)` copying them in; write_header writes it atomically to a file.
//   Non-finite weights and names that are not C++ identifiers are archetype::errors.
// - generate_network_header(net, options, about) / write_network_header: the same header for a plain
//   network type (no choices) and its own weights, e.g. a structurally pruned network.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "archetype/graph/branches.hpp"
#include "archetype/core/atomic_file.hpp"
#include "archetype/space/genotype_text.hpp"

namespace archetype {

// Spelling of descriptor D with its choices resolved by a genotype of Space.
template <class D>
struct resolved {
    template <class Space>
    static std::string spelling(const typename Space::genotype&) {
        return D::spelling();
    }
};

namespace detail {
template <class Space, class... Ls>
std::string resolved_pack(const char* name, const typename Space::genotype& g) {
    std::string s = std::string("archetype::") + name + "<";
    bool first = true;
    ((s += (first ? "" : ", ") + resolved<Ls>::template spelling<Space>(g), first = false), ...);
    return s + ">";
}
}  // namespace detail

template <class... Ls>
struct resolved<sequential<Ls...>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype& g) {
        return detail::resolved_pack<Space, Ls...>("sequential", g);
    }
};
template <class... Ls>
struct resolved<residual<Ls...>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype& g) {
        return detail::resolved_pack<Space, Ls...>("residual", g);
    }
};
template <class... Bs>
struct resolved<sum<Bs...>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype& g) {
        return detail::resolved_pack<Space, Bs...>("sum", g);
    }
};
template <class... Bs>
struct resolved<concat<Bs...>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype& g) {
        return detail::resolved_pack<Space, Bs...>("concat", g);
    }
};
template <std::size_t N, class Block>
struct resolved<repeat<N, Block>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype& g) {
        return "archetype::repeat<" + std::to_string(N) + ", " + resolved<Block>::template spelling<Space>(g) + ">";
    }
};
template <fixed_string Label, class L>
struct resolved<option<Label, L>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype& g) {
        return resolved<L>::template spelling<Space>(g);
    }
};
template <fixed_string Name, class... Alts>
struct resolved<choice<Name, Alts...>> {
    template <class Space>
    static std::string spelling(const typename Space::genotype& g) {
        const std::size_t d = Space::find(Name.view());
        if (d == Space::decision_count)
            throw error("codegen: the choice \"" + std::string(Name.view()) +
                        "\" is not a decision of the space; resolve a part of the space with that space's genotype");
        std::string s;
        std::size_t i = 0;
        ((i++ == g[d] ? void(s = resolved<Alts>::template spelling<Space>(g)) : void()), ...);
        return s;
    }
};

// The spelling of Space's body (or of the part D of it) as the fixed architecture g selects.
template <class Space, class D = typename Space::network_type::body>
std::string resolved_spelling(const typename Space::genotype& g) {
    Space::validate(g);
    std::string s = resolved<D>::template spelling<Space>(g);
    if (s.find("archetype::choice<") != std::string::npos)
        throw error("codegen: a choice is left in the resolved spelling " + s +
                    "; it sits inside a descriptor that codegen cannot look into: specialise "
                    "archetype::resolved<> for that descriptor (see space/codegen.hpp)");
    return s;
}

struct fixed_weights {
    std::vector<float> params;  // the fixed network's params(), in its arena order
    std::vector<float> state;   // its state()
};

namespace detail {
template <class Space>
struct weight_picker {
    const typename Space::genotype& g;
    const float* w;
    const float* s;
    fixed_weights out{};
    template <class Op>
    void leaf(std::size_t w_off, std::size_t s_off) {
        out.params.insert(out.params.end(), w + w_off, w + w_off + Op::param_count);
        out.state.insert(out.state.end(), s + s_off, s + s_off + Op::state_count);
    }
    template <class Op>
    long on_choice(std::size_t) {
        return long(g[Space::find(Op::name)]);
    }
};
}  // namespace detail

template <class Space>
fixed_weights selected_weights(const typename Space::network_type& net, const typename Space::genotype& g) {
    Space::validate(g);
    detail::weight_picker<Space> p{g, net.params().data(), net.state().data()};
    visit_leaves<typename Space::op>(p);
    return std::move(p.out);
}

struct codegen_options {
    std::string name = "best_net";     // the alias; also names <name>_params, <name>_state, load_<name>
    std::string namespace_name{};      // empty: the global namespace; nested ones as "a::b"
    std::vector<std::string> includes{}; // extra headers, e.g. "<my/layers.hpp>", for layers outside archetype
};

namespace detail {
constexpr bool identifier_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}
inline bool is_identifier(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i)
        if (!identifier_char(s[i], i == 0)) return false;
    return !s.empty();
}
// "a::b::c", or empty for the global namespace.
inline bool is_namespace_name(std::string_view s) {
    for (std::size_t sep = 0; !s.empty(); s = sep == std::string_view::npos ? std::string_view{} : s.substr(sep + 2))
        if (sep = s.find("::"); !is_identifier(s.substr(0, sep)) || (sep != s.npos && sep + 2 == s.size()))
            return false;
    return true;
}

inline std::string hex_float(float v, std::size_t index, const char* what) {
    if (!std::isfinite(v))
        throw error("codegen: " + std::string(what) + " value " + std::to_string(index) + " of the selected " +
                    "architecture is " + std::to_string(v) + "; a network with non-finite weights cannot be "
                    "written out: fix the training (learning rate, data) first");
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::hex);
    return (std::signbit(v) ? "-0x" : "0x") + std::string(buf, r.ptr) + "f";
}

inline void append_array(std::string& out, const std::string& name, const std::vector<float>& v, const char* what) {
    out += "inline constexpr std::array<float, " + std::to_string(v.size()) + "> " + name + " = {";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i % 6 ? " " : "\n    ") + hex_float(v[i], i, what) + ",";
    out += v.empty() ? "};\n" : "\n};\n";
}

}  // namespace detail

namespace detail {
inline void check_codegen_options(const codegen_options& o) {
    if (!is_identifier(o.name))
        throw error("codegen: the name \"" + o.name + "\" is not a C++ identifier; use letters, digits and '_'");
    if (!is_namespace_name(o.namespace_name))
        throw error("codegen: the namespace \"" + o.namespace_name +
                    "\" is not a C++ namespace name (identifiers joined by ::, or empty for the global one)");
    for (const auto& inc : o.includes)
        if (inc.size() < 3 || !((inc.front() == '<' && inc.back() == '>') || (inc.front() == '"' && inc.back() == '"')))
            throw error("codegen: the include \"" + inc + "\" must be written <path> or \"path\"");
}

// The header text for the network type spelled `type` with weights w; `about` is a comment line.
inline std::string network_header_text(const std::string& type, std::string about, const fixed_weights& w,
                                       std::size_t macs, const codegen_options& o) {
    for (char& c : about)
        if (static_cast<unsigned char>(c) < 0x20) c = '?';  // keep the comment on one line
    const std::string& n = o.name;
    std::string h = "// " + n + ": generated by archetype::write_header; do not edit.\n// " + about + "\n// " +
                    std::to_string(w.params.size()) + " parameters, " + std::to_string(w.state.size()) +
                    " state values, " + std::to_string(macs) +
                    " MACs per sample\n#pragma once\n\n#include <algorithm>\n#include <array>\n\n";
    h += "#include <archetype/architecture.hpp>\n";
    for (const auto& inc : o.includes) h += "#include " + inc + "\n";
    if (!o.namespace_name.empty()) h += "\nnamespace " + o.namespace_name + " {\n";
    h += "\nusing " + n + " = " + type + ";\n\n";
    append_array(h, n + "_params", w.params, "parameter");
    append_array(h, n + "_state", w.state, "state");
    h += "static_assert(" + n + "::param_count == " + n + "_params.size() && " + n + "::state_count == " + n +
         "_state.size(),\n              \"" + n + ": the embedded weights do not fit the architecture's layout; "
         "regenerate this header with the archetype version that compiles it\");\n\n";
    h += "// Copies the embedded weights into `net`.\ninline void load_" + n + "(" + n + "& net) {\n" +
         "    std::copy(" + n + "_params.begin(), " + n + "_params.end(), net.params().begin());\n" +
         "    std::copy(" + n + "_state.begin(), " + n + "_state.end(), net.state().begin());\n}\n";
    if (!o.namespace_name.empty()) h += "\n}  // namespace " + o.namespace_name + "\n";
    return h;
}
}  // namespace detail

// The text of a header declaring g's fixed architecture and its weights taken from the supernet `net`.
template <class Space>
std::string generate_header(const typename Space::network_type& net, const typename Space::genotype& g,
                            const codegen_options& o = {}) {
    detail::check_codegen_options(o);
    constexpr shape in = Space::network_type::input_shape;
    const std::string type = "archetype::network<archetype::shape{" + std::to_string(in.c) + ", " +
                             std::to_string(in.h) + ", " + std::to_string(in.w) + "}, " +
                             resolved_spelling<Space>(g) + ">";
    return detail::network_header_text(type, "genotype: " + to_text<Space>(g), selected_weights<Space>(net, g),
                                       Space::cost_of(g).macs, o);
}

// The same header for a plain (choice-free) network type Net and the weights of `net`, e.g. a
// structurally pruned network; `about` becomes the header's second comment line.
template <class Net>
std::string generate_network_header(const Net& net, const codegen_options& o = {}, const std::string& about = {}) {
    detail::check_codegen_options(o);
    fixed_weights w{{net.params().begin(), net.params().end()}, {net.state().begin(), net.state().end()}};
    return detail::network_header_text(Net::spelling(), about, w, Net::total_cost.macs, o);
}

// Writes generate_header's text to `path` atomically (core/atomic_file.hpp).
template <class Space>
void write_header(const typename Space::network_type& net, const typename Space::genotype& g,
                  const std::filesystem::path& path, const codegen_options& o = {}) {
    write_file_atomically(path, generate_header<Space>(net, g, o));
}

// Writes generate_network_header's text to `path` atomically.
template <class Net>
void write_network_header(const Net& net, const std::filesystem::path& path, const codegen_options& o = {},
                          const std::string& about = {}) {
    write_file_atomically(path, generate_network_header(net, o, about));
}

}  // namespace archetype
