// Must not compile: a MAC budget written as a static_assert that the network exceeds
// (flatten + dense<10> on 1×28×28 costs 7,840 multiply-accumulates; the budget is 5,000).
// expect: (static assertion failed|static_assert failed).*MAC budget of 5000 exceeded
#include "archetype/graph/network.hpp"
#include "archetype/graph/sequential.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"

namespace at = archetype;

using net_t = at::network<at::shape{1, 28, 28}, at::sequential<at::flatten, at::dense<10>>>;
static_assert(at::macs_v<net_t> == 7840);

#ifdef ARCHETYPE_COMPILE_FAIL
static_assert(at::macs_v<net_t> < 5000, "MAC budget of 5000 exceeded");
#else  // the control: the same assertion with a budget the network meets
static_assert(at::macs_v<net_t> < 8000, "MAC budget of 8000 exceeded");
#endif

int main() { return 0; }
