// How well can the latency of a Fashion-MNIST candidate be known without running it? Measures the
// batch-1 forward latency of sampled architectures of fashion_mnist_space on this host, fits the linear
// latency predictor on part of them, and reports on the held-out rest the mean absolute percentage error
// and Spearman's rho of three estimates: the predictor, the per-leaf lookup table's sum, and MACs (as a
// linear fit of latency on MACs alone).
//
//   latency_model [--samples N] [--held-out H] [--seed S] [--cache FILE] [--batch B]
//
// The lookup table is cached in FILE (rebuilt when the CPU, compiler, flags or batch change).
// Run it on a quiet machine: other processes on the cores disturb every timing.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "archetype/estimate/latency.hpp"
#include "archetype/estimate/statistics.hpp"
#include "archetype/io/progress.hpp"
#include "archetype/space/fashion_mnist.hpp"
#include "cli.hpp"

namespace at = archetype;
using space = at::fashion_mnist_space;

int main(int argc, char** argv) try {
    std::size_t samples = 80, held_out = 30, batch = 1;
    std::uint64_t seed = 1;
    std::string cache = "latency_lut.txt";
    examples::cli args("latency_model", "latency predictor vs lookup table vs MACs on held-out architectures");
    args.flag("--samples", samples, "architectures measured")
        .flag("--held-out", held_out, "of which this many are kept out of the fit and scored")
        .flag("--seed", seed, "seed of the sampled architectures")
        .flag("--cache", cache, "lookup-table cache file")
        .flag("--batch", batch, "samples per forward");
    args.parse(argc, argv);
    if (held_out < 2 || samples < held_out + 7) args.fail("need --held-out >= 2 and --samples >= held-out + 7");

    const at::latency_options o{.batch = batch, .threads = 1, .warmup = 3, .repeats = 7, .min_seconds = 0.005,
                                .seed = 1};
    const auto table = at::latency_table<space>::load_or_build(cache, o);
    std::printf("lookup table: %zu leaves, %s\n", table.size(),
                table.rebuilt_because().empty() ? ("read from " + cache).c_str()
                                                : ("measured (" + table.rebuilt_because() + ")").c_str());

    at::rng r{at::seed{seed}};
    std::vector<space::genotype> gs;
    while (gs.size() < samples) {
        const auto g = space::sample(r);
        if (std::find(gs.begin(), gs.end(), g) == gs.end()) gs.push_back(g);
    }
    std::vector<double> measured;
    at::progress bar(samples, {.style = at::progress_style::automatic, .stream = &std::cerr, .line_interval = 10,
                               .bar_width = 30, .label = "measuring", .clock = {}});
    for (const auto& g : gs) {
        measured.push_back(at::measure_latency<space>(g, o));
        bar.update(measured.size());
    }
    bar.finish();

    const std::size_t fit_n = samples - held_out;
    std::vector<std::vector<double>> fit_rows, mac_rows;
    std::vector<double> fit_y;
    for (std::size_t i = 0; i < fit_n; ++i) {
        fit_rows.push_back(at::latency_features<space>(gs[i], table));
        mac_rows.push_back({double(space::cost_of(gs[i]).macs)});
        fit_y.push_back(measured[i]);
    }
    at::linear_model predictor, by_macs;
    predictor.fit(fit_rows, fit_y);
    by_macs.fit(mac_rows, fit_y);

    std::vector<double> truth, pred, lut, macs_pred, macs;
    for (std::size_t i = fit_n; i < samples; ++i) {
        truth.push_back(measured[i]);
        pred.push_back(predictor.predict(at::latency_features<space>(gs[i], table)));
        lut.push_back(table.lut(gs[i]));
        macs.push_back(double(space::cost_of(gs[i]).macs));
        macs_pred.push_back(by_macs.predict({macs.back()}));
    }
    std::printf("%zu architectures measured (batch %zu, median of 7), fitted on %zu, scored on %zu held out\n",
                samples, batch, fit_n, held_out);
    std::printf("latency range %.1f .. %.1f us\n", *std::min_element(measured.begin(), measured.end()),
                *std::max_element(measured.begin(), measured.end()));
    std::printf("%-28s %8s %10s\n", "estimate", "MAPE", "Spearman");
    std::printf("%-28s %7.1f%% %10.3f\n", "linear predictor", 100 * at::mape(truth, pred), at::spearman(truth, pred));
    std::printf("%-28s %7.1f%% %10.3f\n", "lookup table (sum of leaves)", 100 * at::mape(truth, lut),
                at::spearman(truth, lut));
    std::printf("%-28s %7.1f%% %10.3f\n", "MACs (linear fit)", 100 * at::mape(truth, macs_pred),
                at::spearman(truth, macs));
    return 0;
} catch (const std::exception& e) {
    std::cerr << "latency_model: " << e.what() << "\n";
    return 1;
}
