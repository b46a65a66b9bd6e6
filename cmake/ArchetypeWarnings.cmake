# Flags for the project's own targets (tests, examples, benchmarks); consumers choose their own.
add_library(archetype_dev_flags INTERFACE)
target_compile_options(archetype_dev_flags INTERFACE -Wall -Wextra -Werror)
# g++ 12 at -O2/-O3 reports a false -Wrestrict inside libstdc++ for `"literal" + std::string`
# (GCC bug 105651, fixed in GCC 13); the warning is off for GCC only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(archetype_dev_flags INTERFACE -Wno-restrict)
endif()
if(ARCHETYPE_NATIVE)
    target_compile_options(archetype_dev_flags INTERFACE -march=native)
endif()
if(ARCHETYPE_SANITIZE)
    target_compile_options(archetype_dev_flags INTERFACE
        -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(archetype_dev_flags INTERFACE -fsanitize=address,undefined)
endif()
