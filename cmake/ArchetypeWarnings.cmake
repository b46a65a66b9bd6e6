# Flags for the project's own targets (tests, examples, benchmarks); consumers choose their own.
add_library(archetype_dev_flags INTERFACE)
target_compile_options(archetype_dev_flags INTERFACE -Wall -Wextra -Werror)
if(ARCHETYPE_NATIVE)
    target_compile_options(archetype_dev_flags INTERFACE -march=native)
endif()
if(ARCHETYPE_SANITIZE)
    target_compile_options(archetype_dev_flags INTERFACE
        -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(archetype_dev_flags INTERFACE -fsanitize=address,undefined)
endif()
