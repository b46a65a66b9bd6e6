// Must not compile: keep_widths lists 3 widths for a network with 2 prunable layers. The error names both
// counts, on g++ ("[with long unsigned int Listed = 3; long unsigned int Prunable = 2]") and on clang
// ("check_keep_list_length<3UL, 2UL>").
// expect: check_keep_list_length(<|\(\) \[with [a-z ]*Listed = )3(UL)?(, |; [a-z ]*Prunable = )2
#include "archetype/compress/structural_pruning.hpp"

namespace at = archetype;

using body = at::sequential<at::conv2d<6, 3>, at::relu, at::conv2d<8, 3>, at::relu, at::flatten, at::dense<10>>;
using net = at::network<at::shape{1, 9, 9}, body>;
#ifdef ARCHETYPE_COMPILE_FAIL
using small = at::structurally_pruned_t<net, at::keep_widths<3, 4, 5>>;
#else  // the control: one width per prunable layer
using small = at::structurally_pruned_t<net, at::keep_widths<3, 4>>;
#endif

int main() { return small::param_count > 0 ? 0 : 1; }
