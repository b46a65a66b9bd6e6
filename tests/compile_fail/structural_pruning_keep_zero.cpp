// Must not compile: structural pruning that keeps 0 of the 8 channels of the second prunable layer. The
// error must name the layer index (1), its width (8) and the kept count (0), on g++ ("[with long
// unsigned int Index = 1; int Width = 8; int Kept = 0]") and on clang ("check_kept_width<1UL, 8, 0>").
// expect: check_kept_width(<|\(\) \[with [a-z ]*Index = )1(UL)?(, |; int Width = )8(, |; int Kept = )0
#include "archetype/compress/structural_pruning.hpp"

namespace at = archetype;

using body = at::sequential<at::conv2d<6, 3>, at::relu, at::conv2d<8, 3>, at::relu, at::flatten, at::dense<10>>;
using net = at::network<at::shape{1, 9, 9}, body>;
#ifdef ARCHETYPE_COMPILE_FAIL
using small = at::structurally_pruned_t<net, at::keep_widths<3, 0>>;
#else  // the control: keeping 4 of the 8 compiles
using small = at::structurally_pruned_t<net, at::keep_widths<3, 4>>;
#endif

int main() { return small::param_count > 0 ? 0 : 1; }
