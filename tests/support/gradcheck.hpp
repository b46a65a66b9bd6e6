// tests/support/gradcheck.hpp — finite-difference checks of any descriptor's backward.
//
// gradcheck<In, D>(batch, seed, training) builds network<In, D>, draws inputs and a random projection r,
// and compares the analytic gradients of L = Σ r·y with central differences for the input and for every
// parameter (all of them when there are few, a seeded sample otherwise). Accumulation is in double.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "archetype/graph/network.hpp"

namespace archetype::test {

struct gradcheck_result {
    double max_input_error = 0;  // max |analytic − numeric| / (|numeric| + scale)
    double max_param_error = 0;
};

template <shape In, class D>
gradcheck_result gradcheck(std::size_t batch, std::uint64_t s = 1, bool training = true, float eps = 1e-2f,
                           std::size_t max_params = 400) {
    using net_t = network<In, D>;
    net_t net{seed{s}};
    rng g(seed{s + 1000});
    std::vector<float> x(batch * In.size());
    for (auto& v : x) v = g.uniform(-1.0f, 1.0f);
    const std::size_t ny = batch * net_t::output_shape.size();
    std::vector<float> r(ny);
    for (auto& v : r) v = g.uniform(-1.0f, 1.0f);

    auto loss = [&] {
        const float* y = net.forward_raw(x.data(), batch, training);
        double l = 0;
        for (std::size_t i = 0; i < ny; ++i) l += double(r[i]) * y[i];
        return l;
    };

    loss();
    net.zero_grad();
    std::vector<float> dx(x.size());
    net.backward_raw(r.data(), dx.data());
    std::vector<float> dw(net.grads().begin(), net.grads().end());

    // Error relative to the gradient's overall scale, so that tiny entries do not dominate.
    auto scale_of = [](const std::vector<float>& v) {
        double m = 0;
        for (float a : v) m = std::max(m, double(std::abs(a)));
        return std::max(m, 1e-3);
    };
    gradcheck_result res;
    auto numeric = [&](float& p) {
        const float keep = p;
        p = keep + eps;
        const double lp = loss();
        p = keep - eps;
        const double lm = loss();
        p = keep;
        return (lp - lm) / (2.0 * double(eps));
    };
    const double sx = scale_of(dx);
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double num = numeric(x[i]);
        res.max_input_error = std::max(res.max_input_error, std::abs(num - dx[i]) / sx);
    }
    if (!dw.empty()) {
        const double sw = scale_of(dw);
        auto params = net.params();
        const std::size_t step = std::max<std::size_t>(1, params.size() / max_params);
        for (std::size_t i = g.below(step); i < params.size(); i += step) {
            const double num = numeric(params[i]);
            res.max_param_error = std::max(res.max_param_error, std::abs(num - dw[i]) / sw);
        }
    }
    return res;
}

// Checks both errors against `tol` (relative to the gradient's largest entry).
template <shape In, class D>
void check_gradients(std::size_t batch, double tol = 2e-3, bool training = true, std::uint64_t s = 1) {
    const auto r = gradcheck<In, D>(batch, s, training);
    CHECK(r.max_input_error < tol);
    CHECK(r.max_param_error < tol);
}

}  // namespace archetype::test
