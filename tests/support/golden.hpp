// tests/support/golden.hpp — golden values computed by PyTorch, and a check of any layer against them.
//
// The files under tests/data/golden/<group>/<case>.txt are written by tests/reference/generate_golden.py
// (see tests/reference/README.md). Format, one record per line, whitespace-separated:
//     archetype-golden 1                 first line: magic word and format version
//     # ...                              comment (ignored)
//     tensor <name> <count>              followed by <count> float values (%.9g, 8 per line)
//     <key> <value...>                   any other line: a configuration entry, e.g.
//                                        "type archetype::conv2d<4, 3, 1, 1, 1, 1, true>", "batch 2",
//                                        "in 3 7 9", "out 4 7 9", "training 0"
// Layer cases hold tensors x, y, dy, dx and, for layers with parameters, params and dparams (all
// parameters concatenated in archetype's layout), and for layers with state, state (before the
// forward) and state_after. The loss cases hold logits, labels (as floats), loss and dlogits.
//
// check_golden_layer<In, D>(case) builds network<In, D>, checks that the case describes this very
// type and shape (spelling, in, out, batch, sizes), copies params and state in, runs forward_raw(x,
// batch, training) and, after zero_grad(), backward_raw(dy, dx), and compares y, dx, the parameter
// gradients and the state after the forward with the file. Errors are relative to the largest
// magnitude of the reference array: max |got − want| / max |want|. It then reruns with a 2-thread pool
// and requires bitwise the same results (the library promises independence of the thread count).
// With the environment variable ARCHETYPE_GOLDEN_VERBOSE set, it prints every case's errors.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "archetype/graph/network.hpp"

namespace archetype::test {

struct golden_case {
    std::string name;
    std::map<std::string, std::string> config;
    std::map<std::string, std::vector<float>> tensors;

    bool has(const std::string& tensor_name) const { return tensors.count(tensor_name) != 0; }
    const std::vector<float>& tensor(const std::string& tensor_name) const {
        auto it = tensors.find(tensor_name);
        if (it == tensors.end()) throw error("golden case " + name + ": no tensor '" + tensor_name + "'");
        return it->second;
    }
    const std::string& get(const std::string& key) const {
        auto it = config.find(key);
        if (it == config.end()) throw error("golden case " + name + ": no entry '" + key + "'");
        return it->second;
    }
    std::size_t integer(const std::string& key) const { return std::stoul(get(key)); }
    shape shape_of(const std::string& key) const {
        std::istringstream in(get(key));
        shape s;
        in >> s.c >> s.h >> s.w;
        return s;
    }
};

// Loads tests/data/golden/<name>.txt, e.g. load_golden("conv/k3_p1_7x9_b2").
inline golden_case load_golden(const std::string& name) {
    const std::string path = std::string(ARCHETYPE_TEST_DATA) + "/golden/" + name + ".txt";
    std::ifstream f(path);
    if (!f)
        throw error("golden file " + path +
                    " cannot be opened; regenerate it with tests/reference/generate_golden.py");
    golden_case c;
    c.name = name;
    std::string line;
    if (!std::getline(f, line) || line != "archetype-golden 1")
        throw error("golden file " + path + ": first line must be 'archetype-golden 1'; regenerate it");
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream in(line);
        std::string key;
        in >> key;
        if (key == "tensor") {
            std::string tensor_name;
            std::size_t count = 0;
            in >> tensor_name >> count;
            std::vector<float> v(count);
            for (auto& x : v)
                if (!(f >> x)) throw error("golden file " + path + ": tensor " + tensor_name + " is truncated");
            c.tensors[tensor_name] = std::move(v);
        } else {
            std::string rest;
            std::getline(in >> std::ws, rest);
            c.config[key] = rest;
        }
    }
    return c;
}

// max |got − want| / max |want| (the denominator floored at 1e-12 so an all-zero reference still works);
// infinite when got holds a NaN or an infinity.
inline double relative_error(std::span<const float> got, const std::vector<float>& want) {
    REQUIRE(got.size() == want.size());
    double diff = 0, scale = 1e-12;
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
        diff = std::max(diff, std::abs(double(got[i]) - double(want[i])));
        scale = std::max(scale, std::abs(double(want[i])));
    }
    return diff / scale;
}

// Runs forward and backward once; returns y, dx, parameter gradients and state, concatenated.
template <class Net>
std::vector<float> run_golden(Net& net, const golden_case& c, std::size_t batch, bool training,
                              std::vector<float>& y, std::vector<float>& dx) {
    const auto& x = c.tensor("x");
    std::ranges::copy(c.tensor("params"), net.params().begin());
    if (c.has("state")) std::ranges::copy(c.tensor("state"), net.state().begin());
    const float* out = net.forward_raw(x.data(), batch, training);
    y.assign(out, out + batch * Net::output_shape.size());
    net.zero_grad();
    dx.assign(x.size(), 0.0f);
    net.backward_raw(c.tensor("dy").data(), dx.data());
    std::vector<float> all = y;
    all.insert(all.end(), dx.begin(), dx.end());
    all.insert(all.end(), net.grads().begin(), net.grads().end());
    all.insert(all.end(), net.state().begin(), net.state().end());
    return all;
}

// Bounds on the relative errors of one case; a test that loosens one says why next to the case.
struct tolerances {
    double y = 1e-4;
    double dx = 1e-4;
    double dparams = 1e-4;
    double state = 1e-4;
};

// The golden check of one layer case.
template <shape In, class D>
void check_golden_layer(const std::string& name, tolerances tol = {}) {
    using net_t = network<In, D>;
    golden_case c = load_golden(name);
    if (!c.has("params")) c.tensors["params"] = {};
    CAPTURE(name);
    // The file must describe exactly this type and shape, or the comparison means nothing.
    REQUIRE(c.get("type") == D::spelling());
    REQUIRE(c.shape_of("in") == In);
    REQUIRE(c.shape_of("out") == net_t::output_shape);
    const std::size_t batch = c.integer("batch");
    const bool training = c.integer("training") != 0;
    REQUIRE(c.tensor("x").size() == batch * In.size());
    REQUIRE(c.tensor("y").size() == batch * net_t::output_shape.size());
    REQUIRE(c.tensor("params").size() == net_t::param_count);
    REQUIRE((c.has("state") ? c.tensor("state").size() : 0) == net_t::state_count);

    net_t net{seed{1}};
    std::vector<float> y, dx;
    const std::vector<float> serial = run_golden(net, c, batch, training, y, dx);
    const double e_y = relative_error(y, c.tensor("y")), e_dx = relative_error(dx, c.tensor("dx"));
    const double e_dw = net_t::param_count ? relative_error(net.grads(), c.tensor("dparams")) : 0.0;
    const double e_state = net_t::state_count ? relative_error(net.state(), c.tensor("state_after")) : 0.0;
    CHECK(e_y <= tol.y);
    CHECK(e_dx <= tol.dx);
    CHECK(e_dw <= tol.dparams);
    CHECK(e_state <= tol.state);
    if (std::getenv("ARCHETYPE_GOLDEN_VERBOSE"))
        std::printf("%-45s y %.1e  dx %.1e  dparams %.1e  state %.1e\n", name.c_str(), e_y, e_dx, e_dw, e_state);

    thread_pool pool(2);
    net_t threaded{seed{1}, &pool};
    std::vector<float> y2, dx2;
    CHECK(run_golden(threaded, c, batch, training, y2, dx2) == serial);
}

}  // namespace archetype::test
