// SIMD softmax / softmax cross-entropy (kernels/softmax.hpp, with and without label smoothing) against their
// scalar twins, bit for bit, for row lengths 1..37 (every tail length of an 8-double chunk) and logits spread wide enough to hit the
// exponent clamp; and both against a long-double reference (relative 1e-13 for the loss, 1 float ulp
// for dx and p).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "archetype/core/rng.hpp"
#include "archetype/kernels/softmax.hpp"

namespace k = archetype::kernels;

namespace {

struct rows {
    std::size_t n, k;
    std::vector<float> x;
    std::vector<int> labels;
    rows(std::size_t n_, std::size_t k_, std::uint64_t seed, float spread) : n(n_), k(k_), x(n_ * k_), labels(n_) {
        archetype::rng g(archetype::seed{seed});
        for (auto& v : x) v = g.uniform(-spread, spread);
        for (std::size_t s = 0; s < n; ++s) labels[s] = int(std::size_t(g.uniform(0.0f, float(k))) % k);
    }
};

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("softmax cross-entropy: SIMD equals the scalar twin bit for bit, every row length 1..37") {
    MESSAGE("softmax kernels on " << std::string(k::simd_name()));
    int bad = 0;
    for (std::size_t kk = 1; kk <= 37; ++kk)
        for (float spread : {3.0f, 900.0f}) {  // 900: exp arguments down to −1800, clamped
            const rows r(5, kk, kk * 7 + std::uint64_t(spread), spread);
            std::vector<double> ls(r.n), lv(r.n);
            std::vector<float> ds(r.n * kk, 9.0f), dv(r.n * kk, 9.0f), ps(r.n * kk), pv(r.n * kk);
            k::softmax_cross_entropy_rows_scalar(r.x.data(), r.labels.data(), ls.data(), ds.data(), 0.2f, r.n, kk);
            k::softmax_cross_entropy_rows(r.x.data(), r.labels.data(), lv.data(), dv.data(), 0.2f, r.n, kk);
            k::softmax_forward_scalar(r.x.data(), ps.data(), r.n, kk);
            k::softmax_forward(r.x.data(), pv.data(), r.n, kk);
            for (std::size_t s = 0; s < r.n; ++s) bad += !same_bits(ls[s], lv[s]);
            bad += ds != dv;
            bad += ps != pv;
            // label smoothing 0.1
            k::softmax_cross_entropy_rows_scalar(r.x.data(), r.labels.data(), ls.data(), ds.data(), 0.2f, r.n, kk, 0.1f);
            k::softmax_cross_entropy_rows(r.x.data(), r.labels.data(), lv.data(), dv.data(), 0.2f, r.n, kk, 0.1f);
            for (std::size_t s = 0; s < r.n; ++s) bad += !same_bits(ls[s], lv[s]);
            bad += ds != dv;
        }
    CHECK(bad == 0);
}

TEST_CASE("softmax cross-entropy agrees with a long-double reference") {
    for (std::size_t kk : {1, 2, 3, 7, 8, 9, 10, 17, 100}) {
        const rows r(4, kk, 100 + kk, 20.0f);
        std::vector<double> loss(r.n);
        std::vector<float> dx(r.n * kk), p(r.n * kk);
        k::softmax_cross_entropy_rows(r.x.data(), r.labels.data(), loss.data(), dx.data(), 0.25f, r.n, kk);
        k::softmax_forward(r.x.data(), p.data(), r.n, kk);
        for (std::size_t s = 0; s < r.n; ++s) {
            const float* xs = r.x.data() + s * kk;
            long double m = xs[0], sum = 0;
            for (std::size_t j = 1; j < kk; ++j) m = std::max<long double>(m, xs[j]);
            for (std::size_t j = 0; j < kk; ++j) sum += std::exp((long double)xs[j] - m);
            const long double ref = std::log(sum) - ((long double)xs[r.labels[s]] - m);
            CHECK(std::abs(loss[s] - double(ref)) <= 1e-13 * std::max(1.0, std::abs(double(ref))));
            for (std::size_t j = 0; j < kk; ++j) {
                const long double pj = std::exp((long double)xs[j] - m) / sum;
                const float want_dx = float(0.25L * (pj - (int(j) == r.labels[s] ? 1.0L : 0.0L)));
                CHECK(std::abs(dx[s * kk + j] - want_dx) <= 1.2e-7f * std::abs(want_dx) + 1e-30f);
                CHECK(std::abs(p[s * kk + j] - float(pj)) <= 1.2e-7f * float(pj) + 1e-30f);
            }
        }
    }
}
