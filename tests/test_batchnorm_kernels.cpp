// SIMD batch-norm kernels (kernels/batchnorm.hpp) against their scalar twins, bit for bit, over batch and
// spatial sizes that leave every tail length (1×1 BatchNorm1d blocks, 7×7, 5×3, 16, 17, 33, 28×28), with
// a channel stride so blocks are not contiguous; and the moments against a long-double two-pass
// reference (relative 1e-12: the sums run in double).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "archetype/core/rng.hpp"
#include "archetype/kernels/batchnorm.hpp"

namespace k = archetype::kernels;

namespace {

[[maybe_unused]] bool same(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct shape_case {
    std::size_t batch, spatial;
};
const shape_case cases[] = {{1, 1}, {3, 1}, {64, 1}, {2, 49}, {5, 15}, {1, 16}, {3, 17}, {4, 33}, {2, 784}, {7, 31}};

}  // namespace

#if defined(ARCHETYPE_SIMD_AVX512F) || defined(ARCHETYPE_SIMD_AVX2)
TEST_CASE("batch-norm SIMD kernels equal their scalar twins bit for bit, every tail length") {
    MESSAGE("batch-norm kernels on " << std::string(k::simd_name()));
    std::uint64_t seed = 3;
    int bad = 0;
    for (const auto& sc : cases) {
        const std::size_t channels = 3, stride = channels * sc.spatial, total = sc.batch * stride;
        archetype::rng g(archetype::seed{++seed});
        std::vector<float> x(total), dy(total);
        for (auto& v : x) v = g.uniform(-2.0f, 3.0f);
        for (auto& v : dy) v = g.uniform(-1.0f, 1.0f);
        const float* xc = x.data() + sc.spatial;  // channel 1: blocks at stride
        const float* gc = dy.data() + sc.spatial;
        const auto ms = k::batchnorm_moments_scalar(xc, sc.batch, stride, sc.spatial);
        const auto mv = k::batchnorm_moments_simd(xc, sc.batch, stride, sc.spatial);
        bad += !same(ms.mean, mv.mean) + !same(ms.var, mv.var);
        const float mean = float(ms.mean), inv_std = float(1.0 / std::sqrt(ms.var + 1e-5));
        const auto ss = k::batchnorm_grad_sums_scalar(xc, gc, sc.batch, stride, sc.spatial, mean);
        const auto sv = k::batchnorm_grad_sums_simd(xc, gc, sc.batch, stride, sc.spatial, mean);
        bad += !same(ss.dy, sv.dy) + !same(ss.dy_xmu, sv.dy_xmu);
        // outputs: the other channels' values must stay untouched (sentinel 7)
        std::vector<float> ys(total, 7.0f), yv(total, 7.0f), ds(total, 7.0f), dv(total, 7.0f);
        k::batchnorm_affine_scalar(xc, ys.data() + sc.spatial, sc.batch, stride, sc.spatial, 1.3f * inv_std, 0.25f);
        k::batchnorm_affine_simd(xc, yv.data() + sc.spatial, sc.batch, stride, sc.spatial, 1.3f * inv_std, 0.25f);
        k::batchnorm_backward_train_scalar(xc, gc, ds.data() + sc.spatial, sc.batch, stride, sc.spatial, mean,
                                           inv_std, 1.3f, ss);
        k::batchnorm_backward_train_simd(xc, gc, dv.data() + sc.spatial, sc.batch, stride, sc.spatial, mean,
                                         inv_std, 1.3f, sv);
        bad += ys != yv;
        bad += ds != dv;
        std::size_t touched = 0;
        for (std::size_t i = 0; i < total; ++i) touched += ys[i] != 7.0f;
        CHECK(touched == sc.batch * sc.spatial);
    }
    CHECK(bad == 0);
}
#endif

TEST_CASE("batch-norm moments and gradient sums agree with a long-double reference") {
    for (const auto& sc : cases) {
        const std::size_t stride = 2 * sc.spatial, total = sc.batch * stride;
        archetype::rng g(archetype::seed{sc.batch * 100 + sc.spatial});
        std::vector<float> x(total), dy(total);
        for (auto& v : x) v = g.uniform(5.0f, 9.0f);  // an offset mean: a one-pass formula would lose digits
        for (auto& v : dy) v = g.uniform(-1.0f, 1.0f);
        long double sum = 0, gs = 0;
        for (std::size_t n = 0; n < sc.batch; ++n)
            for (std::size_t i = 0; i < sc.spatial; ++i) sum += x[n * stride + i], gs += dy[n * stride + i];
        const long double count = sc.batch * sc.spatial, mean = sum / count;
        long double sq = 0, gx = 0;
        const float meanf = float(mean);
        for (std::size_t n = 0; n < sc.batch; ++n)
            for (std::size_t i = 0; i < sc.spatial; ++i) {
                sq += (x[n * stride + i] - mean) * (x[n * stride + i] - mean);
                gx += (long double)dy[n * stride + i] * (long double)(x[n * stride + i] - meanf);
            }
        const auto m = k::batchnorm_moments(x.data(), sc.batch, stride, sc.spatial);
        CHECK(m.mean == doctest::Approx(double(mean)).epsilon(1e-12));
        if (count > 1) CHECK(m.var == doctest::Approx(double(sq / count)).epsilon(1e-12));
        const auto s = k::batchnorm_grad_sums(x.data(), dy.data(), sc.batch, stride, sc.spatial, meanf);
        CHECK(std::abs(s.dy - double(gs)) <= 1e-12 * count);
        CHECK(std::abs(s.dy_xmu - double(gx)) <= 1e-12 * count);
    }
}
