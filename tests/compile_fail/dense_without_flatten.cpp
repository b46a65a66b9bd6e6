// Must not compile: a dense layer straight after a 1×28×28 input (the flatten is missing). The error
// must name the layer's position in its sequential (1) and both shapes, on g++ ("[with ... Position =
// 1; shape Got = shape{1, 28, 28}; shape Expected = shape{784, 1, 1}]") and on clang
// ("check_input_shape<1UL, {1, 28, 28}, {784, 1, 1}>").
// expect: check_input_shape(<|\(\) \[with [a-z ]*Position = )1(UL)?(, |; ([a-z:]*shape )?Got = ([a-z:]*shape)?){1, 28, 28}(, |; ([a-z:]*shape )?Expected = ([a-z:]*shape)?){784, 1, 1}
#include "archetype/graph/network.hpp"
#include "archetype/graph/sequential.hpp"
#include "archetype/layers/dense.hpp"
#include "archetype/layers/identity.hpp"

namespace at = archetype;

#ifdef ARCHETYPE_COMPILE_FAIL
using body = at::sequential<at::identity, at::dense<32>, at::dense<10>>;
#else  // the control: the same network with its flatten compiles
using body = at::sequential<at::identity, at::flatten, at::dense<32>, at::dense<10>>;
#endif

int main() {
    at::network<at::shape{1, 28, 28}, body> net{at::seed{1}};
    return net.params().empty() ? 1 : 0;
}
