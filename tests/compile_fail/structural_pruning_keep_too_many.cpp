// Must not compile: structural pruning that would keep 9 of the 8 channels of the second prunable layer.
// The error names the layer index (1), its width (8) and the kept count (9) on g++ and clang.
// expect: check_kept_width(<|\(\) \[with [a-z ]*Index = )1(UL)?(, |; int Width = )8(, |; int Kept = )9
#include "archetype/compress/structural_pruning.hpp"

namespace at = archetype;

using body = at::sequential<at::conv2d<6, 3>, at::relu, at::conv2d<8, 3>, at::relu, at::flatten, at::dense<10>>;
using net = at::network<at::shape{1, 9, 9}, body>;
#ifdef ARCHETYPE_COMPILE_FAIL
using small = at::structurally_pruned_t<net, at::keep_widths<3, 9>>;
#else  // the control: keeping all 8 compiles
using small = at::structurally_pruned_t<net, at::keep_widths<3, 8>>;
#endif

int main() { return small::param_count > 0 ? 0 : 1; }
