// Must not compile: an N:M pruning policy that keeps more weights (5) than its groups hold (4).
// expect: (static assertion failed|static_assert failed).*n_of_m<N, M>: keeps N of every M weights
#include "archetype/compress/pruning_policies.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/layers/dense.hpp"

namespace at = archetype;
namespace pr = archetype::pruning;

#ifdef ARCHETYPE_COMPILE_FAIL
using policy = pr::n_of_m<5, 4>;
#else  // the control: 2:4 compiles
using policy = pr::n_of_m<2, 4>;
#endif

int main() {
    using net_t = at::network<at::shape{8, 1, 1}, at::dense<4>>;
    net_t net{at::seed{1}};
    auto mask = pr::mask::of<net_t>();
    pr::prune<policy>(net, mask, 0.0);
    return mask.size() == net_t::param_count ? 0 : 1;
}
