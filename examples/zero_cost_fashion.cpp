// How well do zero-cost proxies rank Fashion-MNIST candidates? Samples architectures of
// fashion_mnist_space, scores each with the zero-cost proxies of estimate/zero_cost.hpp (synflow, snip,
// grad_norm, nwot, jacob_cov) at initialisation, proxy-trains each with the main job's recipe
// (examples/fashion_search.cpp: 2 epochs, cosine lr, SGD Nesterov 0.9, lr 0.05, wd 5e-4, batch 64, on
// 6,000 training images, scored on 3,000 other training images), and prints Spearman's rho of each
// proxy, of #params and of MACs against the proxy-training validation accuracy.
//
//   zero_cost_fashion [--samples N] [--seed S] [--threads T] [--proxy-batch B] [--data DIR]
//                     [--max-mmacs X] [--csv FILE]
//
// Architectures: N distinct genotypes drawn uniformly from the space with rng(seed) (only those of at
// most X million MACs when X > 0). Proxies: the network is initialised from seed{seed} (the same weights
// for every alternative it shares), and the data-driven proxies see one batch of B images of the
// proxy-training subset (its first B samples, labels included). Training: estimate/proxy_training.hpp
// with the split and seed of fashion_search --seed S, so an architecture gets the accuracy the search
// would see. A proxy that is not finite for an architecture (nwot −∞ for a singular kernel, jacob_cov
// NaN) leaves that architecture out of its own rho; the count used is printed. T architectures are
// handled at once, one per thread; every result is a function of (seed, genotype) alone, so the table
// does not depend on T. --csv writes one line per architecture.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "archetype/estimate/proxy_training.hpp"
#include "archetype/estimate/statistics.hpp"
#include "archetype/estimate/zero_cost.hpp"
#include "archetype/io/progress.hpp"
#include "archetype/space/fashion_mnist.hpp"
#include "archetype/space/genotype_text.hpp"
#include "cli.hpp"

namespace at = archetype;
using space = at::fashion_mnist_space;

namespace {

const char* const proxy_names[] = {"synflow", "snip", "grad_norm", "nwot", "jacob_cov"};
constexpr std::size_t proxy_count = 5;

struct row {
    space::genotype g{};
    double proxies[proxy_count]{};
    double accuracy = 0, params = 0, macs = 0, zero_cost_seconds = 0, train_seconds = 0;
    bool diverged = false;
};

// Each proxy of g at initialisation; NaN for a proxy that throws (reported, not fatal).
void score_proxies(row& r, std::uint64_t seed, const at::batch& b) {
    auto net = std::make_unique<space::network_type>(at::seed{seed});
    space::apply(*net, r.g);
    const auto t0 = std::chrono::steady_clock::now();
    auto guarded = [&](std::size_t i, auto&& f) {
        try {
            r.proxies[i] = f();
        } catch (const at::error& e) {
            std::fprintf(stderr, "%s failed on %s: %s\n", proxy_names[i], at::to_text<space>(r.g).c_str(), e.what());
            r.proxies[i] = NAN;
        }
    };
    guarded(0, [&] { return at::synflow(*net); });
    guarded(1, [&] { return at::snip(*net, b); });
    guarded(2, [&] { return at::grad_norm(*net, b); });
    guarded(3, [&] { return at::nwot(*net, b); });
    guarded(4, [&] { return at::jacob_cov(*net, b); });
    r.zero_cost_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Spearman's rho of x against y over the items where x is finite, and how many those are.
std::pair<double, std::size_t> finite_spearman(const std::vector<double>& x, const std::vector<double>& y) {
    std::vector<double> a, b;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (std::isfinite(x[i])) {
            a.push_back(x[i]);
            b.push_back(y[i]);
        }
    if (a.size() < 2) return {NAN, a.size()};
    return {at::spearman(a, b), a.size()};
}

}  // namespace

int main(int argc, char** argv) try {
    std::size_t samples = 60, threads = 1, proxy_batch = 64;
    std::uint64_t seed = 1;
    double max_mmacs = 0;
    std::string data = at::default_fashion_mnist_dir().string(), csv;
    examples::cli args("zero_cost_fashion", "Spearman of zero-cost proxies against proxy-training accuracy");
    args.flag("--samples", samples, "architectures sampled")
        .flag("--seed", seed, "seed of the sample, the weights, the split and the trainings")
        .flag("--threads", threads, "architectures handled at once")
        .flag("--proxy-batch", proxy_batch, "images the data-driven proxies see")
        .flag("--data", data, "Fashion-MNIST directory")
        .flag("--max-mmacs", max_mmacs, "sample only networks of at most this many million MACs (0: all)")
        .flag("--csv", csv, "write one line per architecture to this file");
    args.parse(argc, argv);
    if (samples < 3 || threads < 1 || proxy_batch < 2) args.fail("need --samples >= 3, --threads >= 1, --proxy-batch >= 2");

    const at::dataset train = at::load_fashion_mnist(at::fashion_mnist_part::train, data);
    const at::proxy_split split = at::split_training_set(train, 6000, 3000, at::seed{seed});
    if (proxy_batch > split.train.size()) args.fail("--proxy-batch exceeds the proxy-training subset");
    const at::batch proxy_data{split.train.image(0), split.train.labels.data(), proxy_batch};
    const at::proxy_training<space> trainer{
        .train = &split.train, .validation = &split.validation, .epochs = 2, .batch_size = 64,
        .optimizer = at::sgd{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = true},
        .seed = at::seed{seed}, .lr_schedule = at::schedule::cosine(2), .test = nullptr, .eval_batch_size = 500,
        .pool = nullptr};

    std::vector<row> rows;
    at::rng r{at::seed{seed}};
    for (std::size_t tries = 0; rows.size() < samples; ++tries) {
        if (tries > 1000 * samples) args.fail("too few distinct architectures under --max-mmacs");
        const auto g = space::sample(r);
        if (max_mmacs > 0 && double(space::cost_of(g).macs) > max_mmacs * 1e6) continue;
        if (std::any_of(rows.begin(), rows.end(), [&](const row& x) { return x.g == g; })) continue;
        rows.push_back({});
        rows.back().g = g;
    }

    const auto start = std::chrono::steady_clock::now();
    at::progress bar(samples, {.style = at::progress_style::automatic, .stream = &std::cerr, .line_interval = 5,
                               .bar_width = 30, .label = "architectures", .clock = {}});
    std::atomic<std::size_t> next{0}, done{0};
    auto work = [&] {
        for (std::size_t i; (i = next.fetch_add(1)) < rows.size();) {
            row& x = rows[i];
            score_proxies(x, seed, proxy_data);
            const at::proxy_result p = trainer(x.g);
            x.accuracy = p.validation_accuracy;
            x.diverged = p.diverged;
            x.params = double(p.params);
            x.macs = double(p.macs);
            x.train_seconds = p.seconds;
            ++done;
        }
    };
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    std::thread progress_thread([&] {
        while (done.load() < rows.size()) {
            bar.update(done.load());
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
    });
    work();
    for (auto& t : pool) t.join();
    progress_thread.join();
    bar.finish();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    if (!csv.empty()) {
        std::ofstream out(csv);
        out << "genotype,validation_accuracy,diverged,params,macs";
        for (const char* n : proxy_names) out << "," << n;
        out << ",zero_cost_seconds,train_seconds\n";
        char buf[64];
        for (const row& x : rows) {
            out << '"' << at::to_text<space>(x.g) << '"' << "," << x.accuracy << "," << x.diverged << "," << x.params
                << "," << x.macs;
            for (double v : x.proxies) {
                std::snprintf(buf, sizeof buf, "%.9g", v);
                out << "," << buf;
            }
            out << "," << x.zero_cost_seconds << "," << x.train_seconds << "\n";
        }
        if (!out) throw at::error("zero_cost_fashion: cannot write " + csv + "; check the directory exists");
    }

    std::vector<double> acc, params, macs;
    double zc_s = 0, train_s = 0;
    std::size_t diverged = 0;
    for (const row& x : rows) {
        acc.push_back(x.accuracy);
        params.push_back(x.params);
        macs.push_back(x.macs);
        zc_s += x.zero_cost_seconds;
        train_s += x.train_seconds;
        diverged += x.diverged;
    }
    const auto [lo, hi] = std::minmax_element(acc.begin(), acc.end());
    std::printf("fashion_mnist_space, %zu architectures (seed %llu%s), proxy batch %zu; %zu threads, %.0f s wall\n",
                rows.size(), (unsigned long long)seed,
                max_mmacs > 0 ? (", <= " + std::to_string(max_mmacs) + " M MACs").c_str() : "", proxy_batch, threads,
                wall);
    std::printf("proxy-training validation accuracy %.2f%% .. %.2f%% (%zu diverged); mean %.2f s per zero-cost "
                "scoring (all five), %.1f s per proxy training\n",
                100 * *lo, 100 * *hi, diverged, zc_s / double(rows.size()), train_s / double(rows.size()));
    std::printf("%-10s %8s %6s\n", "estimate", "rho", "archs");
    for (std::size_t p = 0; p < proxy_count; ++p) {
        std::vector<double> v;
        for (const row& x : rows) v.push_back(x.proxies[p]);
        const auto [rho, n] = finite_spearman(v, acc);
        std::printf("%-10s %8.3f %6zu\n", proxy_names[p], rho, n);
    }
    std::printf("%-10s %8.3f %6zu\n", "params", at::spearman(params, acc), rows.size());
    std::printf("%-10s %8.3f %6zu\n", "MACs", at::spearman(macs, acc), rows.size());
    return 0;
} catch (const std::exception& e) {
    std::cerr << "zero_cost_fashion: " << e.what() << "\n";
    return 1;
}
