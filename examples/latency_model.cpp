// How well can the latency of a Fashion-MNIST candidate be known without running it? Measures the
// forward latency of sampled architectures of fashion_mnist_space on this host, fits the latency
// predictor (estimate/latency.hpp) on part of them, and reports on the held-out rest the mean absolute
// percentage error and Spearman's rho of: the predictor (estimate/latency_predictor.hpp), the per-leaf
// lookup table's sum (as is), and MACs (as a linear fit of latency on MACs alone); also of other
// feature sets (the first is the predictor before the per-kind features), for comparison, and
// the noise floor: a second, independent measurement of the held-out architectures scored against the
// first as if it were a prediction.
//
//   latency_model [--samples N] [--held-out H] [--seed S] [--cache FILE] [--batch B] [--repeats R]
//                 [--run-ms T] [--quantile Q] [--clock wall|cpu] [--csv FILE]
//
// Timing (see latency_options): every architecture (and every leaf of the table) is timed in R
// interleaved rounds, each a run of at least T ms after 2 warm-up forwards; the Q order statistic of
// the runs is kept (0: the fastest). The lookup table is cached in FILE (rebuilt when the CPU,
// compiler, flags, batch or timing method change). Other processes on the cores disturb timings; the
// load average is printed with the results. --csv writes, per architecture, its genotype, measured
// latency, features (latency_features, then the predictor's) and whether it was held out.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "archetype/estimate/latency_predictor.hpp"
#include "archetype/estimate/statistics.hpp"
#include "archetype/space/fashion_mnist.hpp"
#include "archetype/space/genotype_text.hpp"
#include "cli.hpp"

namespace at = archetype;
using space = at::fashion_mnist_space;

namespace {

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

void print_row(const char* name, const std::vector<double>& truth, const std::vector<double>& estimate) {
    std::printf("%-40s %7.1f%% %9.3f\n", name, 100 * at::mape(truth, estimate), at::spearman(truth, estimate));
}

// Fits a linear model on rows [0, fit_n) of `features` (relative least squares when `relative`) and
// predicts rows [fit_n, end).
std::vector<double> fit_and_predict(const std::vector<std::vector<double>>& features, const std::vector<double>& y,
                                    std::size_t fit_n, bool relative) {
    std::vector<std::vector<double>> rows(features.begin(), features.begin() + std::ptrdiff_t(fit_n));
    std::vector<double> t(y.begin(), y.begin() + std::ptrdiff_t(fit_n)), w;
    if (relative)
        for (double v : t) w.push_back(1 / (v * v));
    at::linear_model m;
    m.fit(rows, t, w);
    std::vector<double> p;
    for (std::size_t i = fit_n; i < features.size(); ++i) p.push_back(m.predict(features[i]));
    return p;
}

}  // namespace

int main(int argc, char** argv) try {
    std::size_t samples = 120, held_out = 40, batch = 1, repeats = 31;
    std::uint64_t seed = 1;
    double run_ms = 1.0, quantile = 0.0;
    std::string cache = "latency_lut.txt", clock = "wall", csv;
    examples::cli args("latency_model", "latency predictor vs lookup table vs MACs on held-out architectures");
    args.flag("--samples", samples, "architectures measured")
        .flag("--held-out", held_out, "of which this many are kept out of the fit and scored")
        .flag("--seed", seed, "seed of the sampled architectures")
        .flag("--cache", cache, "lookup-table cache file")
        .flag("--batch", batch, "samples per forward")
        .flag("--repeats", repeats, "interleaved timed runs per architecture and per leaf")
        .flag("--run-ms", run_ms, "minimum length of a timed run, in milliseconds")
        .flag("--quantile", quantile, "order statistic of the runs kept (0: fastest, 0.5: median)")
        .flag("--clock", clock, "wall (elapsed time) or cpu (the thread's CPU time)")
        .flag("--csv", csv, "write the measurements and features to this file");
    args.parse(argc, argv);
    if (held_out < 2 || samples < held_out + 20) args.fail("need --held-out >= 2 and --samples >= held-out + 20");
    if (clock != "wall" && clock != "cpu") args.fail("--clock takes wall or cpu");

    const at::latency_options o{.batch = batch, .threads = 1, .warmup = 2, .repeats = repeats,
                                .min_seconds = run_ms * 1e-3, .seed = 1, .quantile = quantile,
                                .clock = clock == "wall" ? at::latency_clock::wall : at::latency_clock::thread_cpu};
    std::printf("timing: %s; load average before: %s\n", at::method_name(o).c_str(), load_average().c_str());
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
    const std::vector<double> measured = at::measure_latencies<space>(gs, o);
    const std::size_t fit_n = samples - held_out;
    const std::vector<space::genotype> fit_gs(gs.begin(), gs.begin() + std::ptrdiff_t(fit_n)),
        held_gs(gs.begin() + std::ptrdiff_t(fit_n), gs.end());
    const std::vector<double> again = at::measure_latencies<space>(held_gs, o);  // the noise floor

    at::latency_predictor<space> predictor(table);
    predictor.fit(fit_gs, std::vector<double>(measured.begin(), measured.begin() + std::ptrdiff_t(fit_n)));

    std::vector<double> truth, pred, lut, macs;
    std::vector<std::vector<double>> all5, mac_rows, lut_leaves, kinds;
    for (std::size_t i = 0; i < samples; ++i) {
        const auto f = at::latency_features<space>(gs[i], table);
        all5.push_back(f);
        mac_rows.push_back({f[0]});
        lut_leaves.push_back({f[4], f[3]});
        kinds.push_back(predictor.features(gs[i]));
        if (i < fit_n) continue;
        truth.push_back(measured[i]);
        pred.push_back(predictor.predict(gs[i]));
        lut.push_back(f[4]);
        macs.push_back(f[0]);
    }
    std::printf("load average after: %s\n", load_average().c_str());
    if (!csv.empty()) {
        std::ofstream out(csv);
        out << "genotype,held_out,us,macs,params,activations,leaves,lut";
        for (const auto& k : table.kinds()) out << ",lut:" << k;
        out << "\n";
        for (std::size_t i = 0; i < samples; ++i) {
            out << '"' << at::to_text<space>(gs[i]) << "\"," << (i >= fit_n) << "," << measured[i];
            for (double v : all5[i]) out << "," << v;
            for (std::size_t k = 0; k + 1 < kinds[i].size(); ++k) out << "," << kinds[i][k];
            out << "\n";
        }
        if (!out) throw at::error("latency_model: cannot write " + csv + "; check the directory exists");
    }
    std::printf("%zu architectures measured (batch %zu), fitted on %zu, scored on %zu held out; latency %.1f .. %.1f us\n",
                samples, batch, fit_n, held_out, *std::min_element(measured.begin(), measured.end()),
                *std::max_element(measured.begin(), measured.end()));
    std::printf("%-40s %8s %9s\n", "estimate (held-out architectures)", "MAPE", "Spearman");
    print_row(predictor.per_kind() ? "latency predictor (per-kind features)" : "latency predictor (coarse features)",
              truth, pred);
    print_row("lookup table (sum of leaves)", truth, lut);
    std::vector<double> macs_fit = fit_and_predict(mac_rows, measured, fit_n, false);
    std::printf("%-40s %7.1f%% %9.3f\n", "MACs (linear fit)", 100 * at::mape(truth, macs_fit), at::spearman(truth, macs));
    std::printf("other fits, for comparison:\n");
    print_row("  MACs, params, acts, leaves, lut (OLS)", truth, fit_and_predict(all5, measured, fit_n, false));
    print_row("  lut, leaves (relative LS: coarse)", truth, fit_and_predict(lut_leaves, measured, fit_n, true));
    print_row("  lut by kind, leaves (relative LS)", truth, fit_and_predict(kinds, measured, fit_n, true));
    print_row("noise floor: a second measurement", truth, again);
    return 0;
} catch (const std::exception& e) {
    std::cerr << "latency_model: " << e.what() << "\n";
    return 1;
}
