// The packed SIMD GEMM against its scalar twin. Both compute, for every element, the same chain of
// single-rounded fmas in the same order, so they must agree bit for bit (tolerance 0) over many
// shapes: odd sizes, tails of every width, all four transposes, strided operands, accumulate on/off,
// sizes crossing the kc/mc/nc blocking. Every arch this CPU and build have is tested (AVX-512, AVX2).
// A last check compares against a double-precision product within a stated float32 error bound.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "archetype/core/rng.hpp"
#include "archetype/kernels/gemm.hpp"

namespace at = archetype;
namespace k = archetype::kernels;

namespace {

struct problem {
    std::size_t m, n, k;
    bool ta, tb, acc;
    std::size_t pad = 0;  // extra columns in every leading dimension (strided operands)
    std::vector<float> a, b, c;
    std::size_t lda, ldb, ldc;

    problem(std::size_t m_, std::size_t n_, std::size_t k_, bool ta_, bool tb_, bool acc_, std::size_t pad_,
            std::uint64_t seed)
        : m(m_), n(n_), k(k_), ta(ta_), tb(tb_), acc(acc_), pad(pad_) {
        lda = (ta ? m : k) + pad;
        ldb = (tb ? k : n) + pad;
        ldc = n + pad;
        at::rng g{at::seed{seed}};
        a.resize((ta ? k : m) * lda + 1);
        b.resize((tb ? n : k) * ldb + 1);
        c.resize(m * ldc + 1);
        for (auto& v : a) v = g.uniform(-1.0f, 1.0f);
        for (auto& v : b) v = g.uniform(-1.0f, 1.0f);
        for (auto& v : c) v = g.uniform(-1.0f, 1.0f);
    }
    k::gemm_operands operands(float* out) const {
        return {m, n, k, a.data(), lda, ta, b.data(), ldb, tb, out, ldc, acc};
    }
};

template <class Run>
void check_bitwise(const problem& p, Run run, const std::string& arch) {
    std::vector<float> want = p.c, got = p.c;
    k::gemm_reference(p.operands(want.data()));
    run(p.operands(got.data()));
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < want.size(); ++i)
        if (std::memcmp(&want[i], &got[i], sizeof(float)) != 0) ++mismatches;
    INFO(arch << " m=" << p.m << " n=" << p.n << " k=" << p.k << " ta=" << p.ta << " tb=" << p.tb
              << " acc=" << p.acc << " pad=" << p.pad);
    CHECK(mismatches == 0);  // includes the padding columns and the guard element: nothing else written
}

template <class Run>
void sweep(Run run, const std::string& arch) {
    const std::size_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 47, 64, 65};
    std::uint64_t seed = 1;
    for (std::size_t m : sizes)
        for (std::size_t n : {std::size_t(1), std::size_t(13), std::size_t(32), std::size_t(65)})
            for (std::size_t kk : {std::size_t(1), std::size_t(6), std::size_t(33)})
                for (int flags = 0; flags < 8; ++flags)
                    check_bitwise(problem(m, n, kk, flags & 1, flags & 2, flags & 4, (flags + m) % 3, ++seed), run,
                                  arch);
    // larger than one cache block in every direction: k > kc (256), m > mc, n > nc (512)
    for (int flags = 0; flags < 8; ++flags)
        check_bitwise(problem(101, 517, 300, flags & 1, flags & 2, flags & 4, 1, ++seed), run, arch);
    check_bitwise(problem(64, 1280, 1280, false, true, false, 0, ++seed), run, arch);
    check_bitwise(problem(8, 16, 0, false, false, true, 0, ++seed), run, arch);   // k = 0 keeps C
    check_bitwise(problem(8, 16, 0, false, false, false, 0, ++seed), run, arch);  // k = 0 zeroes C
}

}  // namespace

TEST_CASE("gemm on this build's best arch equals the scalar twin bit for bit") {
    MESSAGE("gemm path: " << k::gemm_path());
    sweep([](const k::gemm_operands& g) { k::gemm(g); }, k::simd_name());
}

#if defined(ARCHETYPE_SIMD_AVX512F)
TEST_CASE("gemm: the AVX-512 instantiation equals the scalar twin bit for bit") {
    sweep([](const k::gemm_operands& g) { k::gemm_packed<xsimd::avx512f>(g); }, "avx512f");
}
#endif
#if defined(ARCHETYPE_SIMD_HAS_FMA3_AVX2)
TEST_CASE("gemm: the AVX2 instantiation equals the scalar twin bit for bit") {
    sweep([](const k::gemm_operands& g) { k::gemm_packed<xsimd::fma3<xsimd::avx2>>(g); }, "fma3+avx2");
}
#endif

TEST_CASE("gemm agrees with a double-precision product within the float32 error bound") {
    // |fl(chain) - exact| <= k * u * sum |a||b| (+ |c|) with u = 2^-24; checked with that bound.
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            const problem p(37, 45, 300, ta, tb, true, 2, 99);
            std::vector<float> got = p.c;
            k::gemm(p.operands(got.data()));
            for (std::size_t i = 0; i < p.m; ++i)
                for (std::size_t j = 0; j < p.n; ++j) {
                    double exact = p.c[i * p.ldc + j], mag = std::abs(exact);
                    for (std::size_t q = 0; q < p.k; ++q) {
                        const double av = ta ? p.a[q * p.lda + i] : p.a[i * p.lda + q];
                        const double bv = tb ? p.b[j * p.ldb + q] : p.b[q * p.ldb + j];
                        exact += av * bv;
                        mag += std::abs(av * bv);
                    }
                    const double bound = double(p.k + 1) * 0x1.0p-24 * mag;
                    REQUIRE(std::abs(double(got[i * p.ldc + j]) - exact) <= bound);
                }
        }
}

TEST_CASE("gemm_path names the instruction set it uses") {
    const std::string path = k::gemm_path();
    CHECK(path.find(k::simd_name()) == 0);
}
