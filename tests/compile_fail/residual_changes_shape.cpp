// Must not compile: a residual whose body turns 4 features into 6, so the skip (branch 0, shape
// {4, 1, 1}) and the body (branch 1, shape {6, 1, 1}) cannot be summed. The error must name the
// branch position and both shapes, on g++ and on clang.
// expect: check_branch_output(<|\(\) \[with [a-z ]*Position = )1(UL)?(, |; ([a-z:]*shape )?Got = ([a-z:]*shape)?){6, 1, 1}(, |; ([a-z:]*shape )?Expected = ([a-z:]*shape)?){4, 1, 1}
#include "archetype/graph/branches.hpp"
#include "archetype/graph/network.hpp"
#include "archetype/layers/dense.hpp"

namespace at = archetype;

#ifdef ARCHETYPE_COMPILE_FAIL
using body = at::sequential<at::dense<4>, at::residual<at::dense<8>, at::dense<6>>, at::dense<2>>;
#else  // the control: a body that returns to 4 features keeps the shape
using body = at::sequential<at::dense<4>, at::residual<at::dense<8>, at::dense<4>>, at::dense<2>>;
#endif

int main() {
    at::network<at::shape{4, 1, 1}, body> net{at::seed{1}};
    return net.params().empty() ? 1 : 0;
}
