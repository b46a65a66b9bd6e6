// Proxy training on a tiny space over a 500-sample Fashion-MNIST subset: the split is disjoint and
// drawn from the training set, candidates learn, results depend only on (seed, genotype), evaluators
// run in parallel, costs come from the compile-time tables, and misuse is an error.
#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

#include "archetype/estimate/proxy_training.hpp"
#include "archetype/layers/activation.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"
#include "archetype/search/strategy.hpp"

namespace at = archetype;

// Two decisions: the hidden width, and the activation (one decision shared by the three widths).
template <int Width>
using hidden = at::sequential<at::dense<Width>, at::choice<"act", at::relu, at::tanh>, at::dense<10>>;
using body = at::sequential<at::flatten, at::choice<"hidden", hidden<2>, hidden<8>, hidden<32>>>;
using space = at::search_space<at::shape{1, 28, 28}, body>;
using genotype = space::genotype;

// Fails (naming the path and `apt-get install dataset-fashion-mnist`) when Fashion-MNIST is missing.
const at::dataset& fashion_train() {
    static const at::dataset d = at::load_fashion_mnist(at::fashion_mnist_part::train);
    return d;
}

const at::dataset& fashion_test_500() {
    static const at::dataset d = at::subset(at::load_fashion_mnist(at::fashion_mnist_part::test), 0, 500);
    return d;
}

struct fixture {
    at::proxy_split split = at::split_training_set(fashion_train(), 500, 500, at::seed{7});
    const at::dataset& test = fashion_test_500();
    at::proxy_training<space> eval{.train = &split.train,
                                   .validation = &split.validation,
                                   .epochs = 5,
                                   .batch_size = 16,
                                   .optimizer = at::sgd{.lr = 0.02f, .momentum = 0.9f},
                                   .seed = at::seed{11}};
};

bool same(const at::proxy_result& a, const at::proxy_result& b) {
    return a.validation_accuracy == b.validation_accuracy && a.validation_loss == b.validation_loss &&
           a.train_loss == b.train_loss && a.params == b.params && a.macs == b.macs && a.test_accuracy == b.test_accuracy;
}

TEST_CASE("the split holds out disjoint parts of the training set") {
    const at::dataset& full = fashion_train();
    const at::proxy_split s = at::split_training_set(full, 500, 300, at::seed{7});
    REQUIRE(s.train.size() == 500);
    REQUIRE(s.validation.size() == 300);
    std::vector<std::size_t> both;
    std::set_intersection(s.train_indices.begin(), s.train_indices.end(), s.validation_indices.begin(),
                          s.validation_indices.end(), std::back_inserter(both));
    CHECK(both.empty());
    CHECK(std::is_sorted(s.train_indices.begin(), s.train_indices.end()));
    // each part holds the source samples at its indices
    const std::size_t per = full.sample.size();
    for (std::size_t i : {std::size_t(0), std::size_t(123), std::size_t(299)}) {
        const std::size_t src = s.validation_indices[i];
        CHECK(std::equal(full.image(src), full.image(src) + per, s.validation.image(i)));
        CHECK(s.validation.labels[i] == full.labels[src]);
    }
    CHECK(std::equal(full.image(s.train_indices[77]), full.image(s.train_indices[77]) + per, s.train.image(77)));
    // another seed, another draw; the same seed, the same draw
    CHECK(at::split_training_set(full, 500, 300, at::seed{8}).train_indices != s.train_indices);
    CHECK(at::split_training_set(full, 500, 300, at::seed{7}).validation_indices == s.validation_indices);
    CHECK_THROWS_WITH_AS(at::split_training_set(full, 60000, 1, at::seed{1}), doctest::Contains("do not fit"),
                         at::error);
}

TEST_CASE("candidates learn; costs come from the compile-time tables; test accuracy is only reported") {
    fixture f;
    f.eval.test = &f.test;
    const at::proxy_result wide = f.eval.evaluate({2, 1});
    MESSAGE("width 32, tanh: validation " << wide.validation_accuracy << ", test " << *wide.test_accuracy << ", "
                                    << wide.seconds << " s");
    CHECK(wide.validation_accuracy > 0.70);  // 0.748 (chance is 0.10)
    CHECK(wide.test_accuracy.has_value());
    CHECK(*wide.test_accuracy > 0.65);
    CHECK(wide.train_loss < 1.0);
    CHECK(!wide.diverged);
    CHECK(wide.params == 784 * 32 + 32 + 32 * 10 + 10);
    CHECK(wide.macs == 784 * 32 + 32 * 10);
    const at::proxy_result narrow = f.eval({0, 0});
    CHECK(narrow.params == 784 * 2 + 2 + 2 * 10 + 10);
    CHECK(narrow.validation_accuracy < wide.validation_accuracy);
    // without training, accuracy is near chance
    auto untrained = f.eval;
    untrained.epochs = 0;
    CHECK(untrained.evaluate({2, 1}).validation_accuracy < 0.3);

    // as search/'s evaluation: one objective, the rest as metrics
    const at::evaluation e = wide;
    REQUIRE(e.objectives.size() == 1);
    CHECK(e.objectives[0] == wide.validation_accuracy);
    CHECK(e.feasible());
    CHECK(e.metrics.at("macs") == double(wide.macs));
    CHECK(e.metrics.at("test_accuracy") == *wide.test_accuracy);
    CHECK(at::evaluation(narrow).metrics.count("test_accuracy") == 1);
}

TEST_CASE("the result depends only on (seed, genotype): repeats, order and threads do not matter") {
    fixture f;
    const genotype a{1, 0}, b{2, 1};
    const at::proxy_result a1 = f.eval.evaluate(a), b1 = f.eval.evaluate(b), a2 = f.eval.evaluate(a);
    CHECK(same(a1, a2));
    CHECK(at::evaluation(a1).metrics == at::evaluation(a2).metrics);  // no wall time among the metrics
    fixture g;  // a fresh evaluator, the other order
    const at::proxy_result b3 = g.eval.evaluate(b), a3 = g.eval.evaluate(a);
    CHECK(same(a1, a3));
    CHECK(same(b1, b3));
    // two threads at once on one evaluator, and a kernel thread pool: the same numbers
    at::proxy_result ta, tb;
    std::thread t1([&] { ta = f.eval.evaluate(a); });
    std::thread t2([&] { tb = f.eval.evaluate(b); });
    t1.join();
    t2.join();
    CHECK(same(ta, a1));
    CHECK(same(tb, b1));
    at::thread_pool pool(2);
    auto pooled = f.eval;
    pooled.pool = &pool;
    CHECK(same(pooled.evaluate(b), b1));
    // another seed gives another initialisation and order
    auto other = f.eval;
    other.seed = at::seed{12};
    CHECK(other.evaluate(a).validation_loss != a1.validation_loss);
}

TEST_CASE("divergence is a result, misuse is an error") {
    fixture f;
    auto wild = f.eval;
    wild.optimizer.lr = 1e20f;
    const at::proxy_result r = wild.evaluate({2, 0});
    CHECK(r.diverged);
    CHECK(r.validation_accuracy == 0.0);
    CHECK(r.params == 784 * 32 + 32 + 32 * 10 + 10);
    const at::evaluation e = r;
    CHECK(e.violation == 1.0);
    CHECK(e.metrics.at("diverged") == 1.0);

    auto as_test = f.eval;
    as_test.test = &f.split.validation;
    CHECK_THROWS_WITH_AS(as_test.evaluate({0, 0}), doctest::Contains("is the test set"), at::error);
    auto itself = f.eval;
    itself.validation = &f.split.train;
    CHECK_THROWS_WITH_AS(itself.evaluate({0, 0}), doctest::Contains("training set itself"), at::error);
    auto missing = f.eval;
    missing.validation = nullptr;
    CHECK_THROWS_WITH_AS(missing.evaluate({0, 0}), doctest::Contains(".validation"), at::error);
    CHECK_THROWS_WITH_AS(f.eval.evaluate({3, 0}), doctest::Contains("\"hidden\" has value 3"), at::error);
    auto negative = f.eval;
    negative.optimizer.lr = -1.0f;
    CHECK_THROWS_WITH_AS(negative.evaluate({0, 0}), doctest::Contains("lr"), at::error);
}
