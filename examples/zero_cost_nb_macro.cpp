// Ranks NAS-Bench-Macro's architectures by zero-cost proxies computed on our own networks and reports
// how well each ranking agrees with the table's mean test accuracy (Spearman's rho), beside the
// parameter count and the FLOPs as proxies.
//
//   zero_cost_nb_macro [--data DIR] [--limit N] [--threads T] [--seed S]
//
// synflow needs no data: every architecture (all 6,561 unless --limit) is the NB-Macro supernet,
// initialised once from the seed, with its genotype applied (so alternatives keep their weights across
// architectures and only the architecture differs); synflow leaves the weights as it found them.
// DIR defaults to ../shared/data.
#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "archetype/estimate/statistics.hpp"
#include "archetype/estimate/tabular.hpp"
#include "archetype/estimate/zero_cost.hpp"
#include "archetype/io/progress.hpp"
#include "cli.hpp"

namespace at = archetype;
using space = at::nas_bench_macro;

int main(int argc, char** argv) try {
#ifdef ARCHETYPE_SHARED_DATA
    std::string data = ARCHETYPE_SHARED_DATA;
#else
    std::string data = "../shared/data";
#endif
    std::size_t limit = 0, threads = 2;
    std::uint64_t seed = 1;
    examples::cli args("zero_cost_nb_macro", "Spearman of zero-cost proxies against NAS-Bench-Macro accuracy");
    args.flag("--data", data, "directory of nas-bench-macro_cifar10.json")
        .flag("--limit", limit, "score only the first N architectures of the table (0: all)")
        .flag("--threads", threads, "architectures scored at once")
        .flag("--seed", seed, "weight seed, the same for every architecture");
    args.parse(argc, argv);
    if (threads < 1) args.fail("threads must be at least 1");

    const auto table = at::load_nb_macro_table(data + "/nas-bench-macro_cifar10.json");
    const std::size_t n = limit ? std::min(limit, at::nb_macro_table::rows) : at::nb_macro_table::rows;
    std::vector<double> acc(n), params(n), flops(n), syn(n);
    at::progress bar(n, {.style = at::progress_style::automatic, .stream = &std::cerr, .line_interval = 10,
                         .bar_width = 30, .label = "synflow", .clock = {}});
    std::atomic<std::size_t> next{0}, done{0};
    auto work = [&] {
        auto net = std::make_unique<space::network_type>(at::seed{seed});
        for (std::size_t r; (r = next.fetch_add(1)) < n;) {
            const auto g = at::nb_macro_table::genotype_of(r);
            space::apply(*net, g);
            syn[r] = at::synflow(*net);
            acc[r] = table.value(g, "mean_acc");
            params[r] = table.value(g, "params");
            flops[r] = table.value(g, "flops");
            ++done;
        }
    };
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    std::thread progress_thread([&] {
        while (done.load() < n) {
            bar.update(done.load());
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    });
    work();
    for (auto& t : pool) t.join();
    progress_thread.join();
    bar.finish();

    std::printf("NAS-Bench-Macro (CIFAR-10), %zu architectures, Spearman's rho against mean_acc:\n", n);
    std::printf("  synflow  %.4f\n  params   %.4f\n  flops    %.4f\n", at::spearman(syn, acc),
                at::spearman(params, acc), at::spearman(flops, acc));
    return 0;
} catch (const std::exception& e) {
    std::cerr << "zero_cost_nb_macro: " << e.what() << "\n";
    return 1;
}
