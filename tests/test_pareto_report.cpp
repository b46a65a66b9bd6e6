// Pareto reports: CSV quoting, the SVG plot's content and geometry, and reports of a strategy.
#include <doctest/doctest.h>

#include "archetype/search/nsga2.hpp"
#include "archetype/search/report.hpp"
#include "support/synthetic_spaces.hpp"

namespace at = archetype;
using synthetic::space12;

namespace {
std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}
std::string between(const std::string& s, const std::string& open, const std::string& close) {
    const auto a = s.find(open);
    REQUIRE(a != std::string::npos);
    const auto b = s.find(close, a + open.size());
    REQUIRE(b != std::string::npos);
    return s.substr(a + open.size(), b - a - open.size());
}
}  // namespace

TEST_CASE("CSV: plain fields as they are, quoted when they hold a comma, quote or line break") {
    CHECK(at::csv_field("abc") == "abc");
    CHECK(at::csv_field("a,b") == "\"a,b\"");
    CHECK(at::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(at::csv_field("two\nlines") == "\"two\nlines\"");
    CHECK(at::to_csv({"x", "y"}, {{"1", "a,b"}, {"2.5", ""}}) == "x,y\n1,\"a,b\"\n2.5,\n");
    CHECK_THROWS_WITH_AS(at::to_csv({"x", "y"}, {{"1"}}),
                         "archetype: CSV: a row has 1 fields but the header has 2; give one value per column", at::error);
    CHECK(at::format_number(0.1) == "0.1");
    CHECK(at::format_number(47327744) == "47327744");
}

TEST_CASE("nice ticks are 1, 2 or 5 times a power of ten and cover the range") {
    CHECK(at::detail::nice_ticks(0, 10) == std::vector<double>{0, 2, 4, 6, 8, 10});
    CHECK(at::detail::nice_ticks(44.1, 93.9) == std::vector<double>{50, 60, 70, 80, 90});
    const auto t = at::detail::nice_ticks(-0.03, 0.26);
    REQUIRE(t.size() == 6);
    CHECK(t[0] == 0.0);
    CHECK(t[1] == doctest::Approx(0.05).epsilon(1e-12));
}

TEST_CASE("the SVG plot: every point, the front highlighted and joined, labelled baselines and axes") {
    std::vector<at::plot_point> pts{{10, 50, "a", false}, {20, 80, "b", true}, {30, 90, "c<&>", true},
                                    {40, 60, "d", false}, {5, 40, "e", true}};
    const std::string svg = at::pareto_svg(pts, {{25, 70, "ResNet & co", false}},
                                           {.title = "NB-Macro", .x_label = "MFLOPs", .y_label = "accuracy (%)",
                                            .width = 800, .height = 560});
    CHECK(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
    CHECK(svg.ends_with("</svg>\n"));
    CHECK(count(between(svg, "<g class=\"points\"", "</g>"), "<circle") == 5);
    CHECK(count(between(svg, "<g class=\"front\"", "</g>"), "<circle") == 3);
    CHECK(count(svg, "<g ") == count(svg, "</g>"));
    CHECK(svg.find(">NB-Macro</text>") != std::string::npos);
    CHECK(svg.find(">MFLOPs</text>") != std::string::npos);
    CHECK(svg.find(">accuracy (%)</text>") != std::string::npos);
    CHECK(svg.find(">ResNet &amp; co</text>") != std::string::npos);
    CHECK(svg.find("<title>c&lt;&amp;&gt;</title>") != std::string::npos);
    CHECK(svg.find(">evaluated (5)</text>") != std::string::npos);
    CHECK(svg.find(">Pareto front (3)</text>") != std::string::npos);
    CHECK(svg.find(">baseline (1)</text>") != std::string::npos);
    // Geometry: x in [5, 40] and y in [40, 90] widened by 5% map onto the plot area [80, 776] × [70, 496].
    // The front line joins e (5, 40), b (20, 80), c (30, 90) in order of x.
    const double x0 = 5 - 1.75, x1 = 40 + 1.75, y0 = 40 - 2.5, y1 = 90 + 2.5;
    auto px = [&](double x) { return 80 + (x - x0) / (x1 - x0) * 696; };
    auto py = [&](double y) { return 70 + (y1 - y) / (y1 - y0) * 426; };
    char expected[200];
    std::snprintf(expected, sizeof expected, "%.2f,%.2f %.2f,%.2f %.2f,%.2f ", px(5), py(40), px(20), py(80), px(30),
                  py(90));
    CHECK(between(svg, "class=\"front-line\"", "/>").find(std::string("points=\"") + expected + "\"") !=
          std::string::npos);
    // Ticks: 10, 20, 30, 40 on x; 40 ... 90 on y.
    CHECK(count(svg, "class=\"xtick\"") == 4);
    CHECK(count(svg, "class=\"ytick\"") == 6);
    CHECK_THROWS_WITH_AS(at::pareto_svg({{1, NAN, "bad", false}}, {}, {}),
                         doctest::Contains("point \"bad\" has a non-finite coordinate"), at::error);
}

TEST_CASE("a strategy's report: the front as CSV, every distinct genotype in the plot") {
    at::nsga2<space12> n({.population = 10, .budget = 60}, at::seed{2});
    n.run([](const space12::genotype& g) {
        return at::evaluation{{synthetic::fitness(g), synthetic::cost(g)}, 0.0, {{"half", synthetic::fitness(g) / 2}}};
    });
    const at::pareto_report_options<space12::genotype> o{.objective_names = {"fitness", "cost"}, .x = 1, .y = 0,
                                                         .x_scale = 0.5, .y_scale = 1.0, .plot = {.title = "t"},
                                                         .baselines = {}, .describe = {}};
    const std::string csv = at::pareto_front_csv(n, o);
    const auto front = n.pareto_front();
    CHECK(count(csv, "\n") == front.size() + 1);
    CHECK(csv.rfind("index,genotype,fitness,cost,violation,half\n", 0) == 0);
    const std::string named = at::pareto_front_csv(n, {.objective_names = {"half", "cost"}});
    CHECK(named.rfind("index,genotype,half,cost,violation\n", 0) == 0);  // a metric named like an objective
    const auto& first = n.history()[front[0]];
    CHECK(csv.find("\n" + std::to_string(front[0]) + ",\"" + at::to_text<space12>(first.genotype) + "\"," +
                   at::format_number(first.result.objectives[0]) + "," + at::format_number(first.result.objectives[1]) +
                   ",0," + at::format_number(first.result.objectives[0] / 2) + "\n") != std::string::npos);
    const std::string svg = at::pareto_plot_svg(n, o);
    CHECK(count(between(svg, "<g class=\"points\"", "</g>"), "<circle") == n.distinct_genotypes());
    CHECK(count(between(svg, "<g class=\"front\"", "</g>"), "<circle") == front.size());
    CHECK(svg.find(">cost</text>") != std::string::npos);
    CHECK(svg.find(">fitness</text>") != std::string::npos);
    CHECK_THROWS_WITH_AS(at::pareto_front_csv(n, {.objective_names = {"only one"}}),
                         "archetype: pareto report: 1 objective names for 2 objectives; give one name per objective",
                         at::error);
}
