// examples/fashion_report.hpp — the main job's report.md, written from the run's facts.
//
// Contract: report_markdown<Space>(facts, candidates, scores, budgets, winner, finals) is the text of
// report.md: the search's settings, the training recipe, the final selection's rung scores (per
// candidate, one score per rung it reached) and the winner and references on the test set, then the
// search and run times and whether the accuracy-MACs (and accuracy-latency) front dominates LeNet-5. It
// only formats: every number comes from the caller. Not part of the library: examples only.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "archetype/search/report.hpp"
#include "archetype/space/genotype_text.hpp"
#include "archetype/train/dataset.hpp"
#include "fashion_search_support.hpp"

namespace fashion {

// What the report says about the run besides the networks.
struct run_facts {
    std::string space_size;  // the space's cardinality
    std::size_t evaluations = 0, population = 0, threads = 0, front_size = 0;
    bool stopped_early = false, latency_objective = false, has_table = false;
    double max_mmacs = 0.0, max_latency_us = 0.0;
    std::uint64_t seed = 0;
    int proxy_epochs = 0;
    std::size_t proxy_train = 0, proxy_validation = 0, train_images = 0;
    int epochs = 0;  // E, the full trainings' epochs
    regularization reg{};
    double eta = 0.0, tie_margin = 0.0;  // tie_margin in points
    std::size_t bands = 0, per_band = 0;
    double search_seconds = 0.0, run_seconds = 0.0;
    bool dominates_macs = false, dominates_latency = false;
};

template <class Space>
std::string report_markdown(const run_facts& r, const std::vector<finalist<typename Space::genotype>>& candidates,
                            const std::vector<std::vector<double>>& scores, const std::vector<double>& budgets,
                            std::size_t winner, const std::vector<finalist<typename Space::genotype>>& finals) {
    auto text = [](const auto& f) { return f.g ? " `" + at::to_text<Space>(*f.g) + "`" : std::string(); };
    auto points = [](double v) {
        char t[32];
        std::snprintf(t, sizeof t, "%.2f", v);
        return std::string(t);
    };
    std::string md = "# Fashion-MNIST architecture search\n\n";
    md += "Search: NSGA-II over `fashion_mnist_space` (" + r.space_size + " networks), objectives " +
          "validation accuracy and " + (r.latency_objective ? "latency (host lookup table, batch 1)" : "MACs") + ", " +
          std::to_string(r.evaluations) + " evaluations" + (r.stopped_early ? " (stopped early: rerun to finish)" : "") +
          ", population " + std::to_string(r.population) + " with boundary and capacity seeds, MACs <= " +
          at::format_number(r.max_mmacs) + " M" +
          (r.max_latency_us > 0 ? ", table latency <= " + at::format_number(r.max_latency_us) + " µs" : "") +
          ", seed " + std::to_string(r.seed) + ", " + std::to_string(r.threads) + " threads. Proxy: " +
          std::to_string(r.proxy_epochs) + " epoch(s) on " + std::to_string(r.proxy_train) + " training images, " +
          "validation on " + std::to_string(r.proxy_validation) + " images held out of the training set.\n\n";
    md += "Training recipe: the " + std::to_string(r.train_images) + " training images not held out, " +
          std::to_string(r.epochs) + " epochs, SGD Nesterov 0.9, lr 0.05 cosine, weight decay 5e-4, batch 64, " +
          (r.reg.augment.active() ? "random shifts up to " + std::to_string(r.reg.augment.shift) + " px" +
                                        (r.reg.augment.hflip ? ", left-right mirroring" : "") +
                                        (r.reg.augment.erase > 0
                                             ? ", random erasing (p " + at::format_number(r.reg.augment.erase) + ")"
                                             : "")
                                  : std::string("no augmentation")) +
          (r.reg.label_smoothing > 0 ? ", label smoothing " + at::format_number(r.reg.label_smoothing) : "") +
          "; test accuracy on the 10,000 test images (never used for selection). Latency: measured forward, "
          "batch 1, one thread" +
          std::string(r.has_table ? "; table: the lookup table's sum over the network's layers" : "") + ".\n\n";
    md += "Final selection: successive halving (eta " + at::format_number(r.eta) + ") of " +
          std::to_string(candidates.size()) + " candidates from " + std::to_string(r.bands) +
          " MAC bands (per band the proxy's most accurate network" +
          (r.per_band > 1 ? ", then the most parameters among its better half" : "") +
          "), trained with the recipe; validation accuracy after each rung's epochs, the best 1/eta go on" +
          (r.tie_margin > 0 ? " (among those within " + points(r.tie_margin) +
                                  " points of a rung's best, the most parameters first)"
                            : std::string()) +
          ":\n\n";
    md += "| candidate | MACs | params | validation (proxy) |";
    for (double b : budgets) md += " after " + at::format_number(b) + " ep |";
    md += "\n|---|---|---|---|";
    for (std::size_t k = 0; k < budgets.size(); ++k) md += "---|";
    md += "\n";
    for (std::size_t c = 0; c < candidates.size(); ++c) {
        const auto& f = candidates[c];
        md += "| " + f.name + (c == winner ? " (winner)" : "") + text(f) + " | " + mmacs(f.macs) + " | " +
              std::to_string(f.params) + " | " + percent(f.validation_accuracy) + " |";
        for (std::size_t k = 0; k < budgets.size(); ++k)
            md += k < scores[c].size() ? " " + percent(scores[c][k]) + " |" : " |";
        md += "\n";
    }
    md += "\nThe winner and the reference networks on the test set:\n\n";
    md += std::string("| network | MACs | params | ") + (r.has_table ? "latency (table) | " : "") +
          "latency (measured) | validation acc (proxy) | test acc | train time |\n|---|---|---|---|---|---|---|" +
          (r.has_table ? "---|" : "") + "\n";
    for (const auto& f : finals) {
        char t[32];
        std::snprintf(t, sizeof t, "%.0f s", f.train_seconds);
        md += "| " + f.name + text(f) + " | " + mmacs(f.macs) + " | " + std::to_string(f.params) + " | " +
              (r.has_table ? microseconds(f.lut_us) + " | " : "") + microseconds(f.measured_us) + " | " +
              percent(f.validation_accuracy) + " | " + percent(f.test_accuracy) + " | " + t + " |\n";
    }
    char tail[256];
    std::snprintf(tail, sizeof tail, "\nSearch time %.0f s; whole run %.0f s. Front size %zu.\n", r.search_seconds,
                  r.run_seconds, r.front_size);
    md += tail;
    md += std::string("The accuracy-MACs front ") + (r.dominates_macs ? "dominates" : "does not dominate") +
          " LeNet-5 on validation accuracy (an evaluated network with no more MACs and a higher accuracy)";
    if (r.has_table)
        md += std::string("; the accuracy-latency front ") + (r.dominates_latency ? "dominates" : "does not dominate") +
              " it (table latency)";
    md += ".\n";
    const auto& best = finals.front();
    md += "Winner (of the final selection):" + text(best) + ", " + mmacs(best.macs) + " MACs, test accuracy " +
          percent(best.test_accuracy) + "; see best.json and best_net.hpp.\n";
    return md;
}

}  // namespace fashion
