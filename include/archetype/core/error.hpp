// archetype/core/error.hpp — the one exception type of the library.
//
// Contract: every error a user can cause at run time (bad file, bad genotype, wrong batch shape,
// non-finite loss, ...) is reported by throwing archetype::error. Its message names the thing that is
// wrong and says how to fix it. Programming errors inside the library are asserts, not errors.
#pragma once

#include <stdexcept>
#include <string>

namespace archetype {

class error : public std::runtime_error {
public:
    explicit error(const std::string& what) : std::runtime_error("archetype: " + what) {}
};

}  // namespace archetype
