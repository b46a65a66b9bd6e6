# Consumer test, run by CTest as cmake -D... -P run.cmake. Builds tests/consumer against archetype and runs it.
#   MODE=find_package:     cmake --install ARCHETYPE_BUILD_DIR into WORK_DIR/prefix, then the consumer
#                          finds it with find_package(archetype CONFIG) (and must find it there).
#   MODE=add_subdirectory: the consumer adds ARCHETYPE_SOURCE_DIR with add_subdirectory.
# Other inputs: WORK_DIR, GENERATOR, MAKE_PROGRAM, COMPILER, BUILD_TYPE, PREFIX_PATH ('|'-separated),
# CXX_FLAGS (the project's warning flags, -Werror included: the public headers must be warning-free).
cmake_minimum_required(VERSION 3.25)

foreach(var MODE ARCHETYPE_SOURCE_DIR WORK_DIR GENERATOR COMPILER)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "consumer test: pass -D${var}=...")
    endif()
endforeach()

function(run what)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "consumer test (${MODE}): ${what} failed (${rc}):\n${out}")
    endif()
    set(run_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(source ${ARCHETYPE_SOURCE_DIR}/tests/consumer)
set(build ${WORK_DIR}/build)
# Extra prefixes (the outer build's CMAKE_PREFIX_PATH) go through the environment, ':'-separated.
string(REPLACE "|" ":" prefix_path "${PREFIX_PATH}")
set(configure ${CMAKE_COMMAND} -S ${source} -B ${build} -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${COMPILER} "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(MAKE_PROGRAM)
    list(APPEND configure -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(BUILD_TYPE)
    list(APPEND configure -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
endif()

if(MODE STREQUAL "find_package")
    if(NOT DEFINED ARCHETYPE_BUILD_DIR)
        message(FATAL_ERROR "consumer test: pass -DARCHETYPE_BUILD_DIR=...")
    endif()
    set(prefix ${WORK_DIR}/prefix)
    set(install ${CMAKE_COMMAND} --install ${ARCHETYPE_BUILD_DIR} --prefix ${prefix})
    if(BUILD_TYPE)
        list(APPEND install --config ${BUILD_TYPE})
    endif()
    run("cmake --install" ${install})
    foreach(f share/cmake/archetype/archetypeConfig.cmake share/cmake/archetype/archetypeConfigVersion.cmake
              share/cmake/archetype/archetypeTargets.cmake include/archetype/graph/network.hpp)
        if(NOT EXISTS ${prefix}/${f})
            message(FATAL_ERROR "consumer test: the install did not produce ${prefix}/${f}")
        endif()
    endforeach()
    set(prefix_path "${prefix}:${prefix_path}")
elseif(MODE STREQUAL "add_subdirectory")
    list(APPEND configure -DARCHETYPE_SOURCE_DIR=${ARCHETYPE_SOURCE_DIR})
else()
    message(FATAL_ERROR "consumer test: MODE must be find_package or add_subdirectory, not '${MODE}'")
endif()

if(prefix_path)
    set(ENV{CMAKE_PREFIX_PATH} "${prefix_path}:$ENV{CMAKE_PREFIX_PATH}")
endif()
run("configuring the consumer" ${configure})
set(configure_output "${run_output}")
if(MODE STREQUAL "find_package")
    # It must be the package just installed, not one found elsewhere on the machine.
    file(REAL_PATH ${prefix} real_prefix)
    if(NOT configure_output MATCHES "consumer: archetype by find_package from ([^\n]*)")
        message(FATAL_ERROR "consumer test: the consumer did not report where it found archetype:\n${configure_output}")
    endif()
    file(REAL_PATH "${CMAKE_MATCH_1}" found)
    string(FIND "${found}" "${real_prefix}/" at)
    if(NOT at EQUAL 0)
        message(FATAL_ERROR "consumer test: find_package found archetype in ${found}, not under ${real_prefix}")
    endif()
endif()

run("building the consumer" ${CMAKE_COMMAND} --build ${build})
find_program(consumer consumer PATHS ${build} ${build}/${BUILD_TYPE} NO_DEFAULT_PATH REQUIRED)
run("running the consumer" ${consumer})
message("${run_output}")
foreach(re "consumer: macs=7840 params=7850 output={10, 1, 1}"
           "consumer: forward max abs error [0-9.e+-]+"
           "consumer: caught archetype::error: [^\n]*{1, 28, 28}[^\n]*{1, 28, 27}"
           "consumer: OK")
    if(NOT run_output MATCHES "${re}")
        message(FATAL_ERROR "consumer test (${MODE}): the output lacks a line matching '${re}'")
    endif()
endforeach()
message(STATUS "consumer test (${MODE}): OK")
