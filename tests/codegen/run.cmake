# The codegen_roundtrip test, run by CTest as cmake -D... -P run.cmake (see tests/codegen/CMakeLists.txt):
#   1. runs GENERATOR WORK_DIR, which writes WORK_DIR/best_net.hpp (archetype::write_header) and
#      WORK_DIR/reference.hpp (a fixed input and the supernet's output on it);
#   2. compiles SOURCE_DIR/consumer.cpp against them with the generator's own flags (FLAGS_FILE sets
#      CG_COMPILE_FLAGS, CG_INCLUDES, CG_DEFINES, CG_OPTIONS, CG_LINK_OPTIONS, CG_IMPLICIT_INCLUDES):
#      the same flags give the same floating-point code, so the outputs can be compared bit for bit;
#   3. runs the consumer, which must print "codegen consumer: OK".
cmake_minimum_required(VERSION 3.25)

foreach(var GENERATOR COMPILER FLAGS_FILE SOURCE_DIR WORK_DIR)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "codegen test: pass -D${var}=...")
    endif()
endforeach()
include(${FLAGS_FILE})

function(run what)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "codegen test: ${what} failed (${rc}):\n${out}")
    endif()
    message(STATUS "${out}")
    set(run_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
run("the generator" ${GENERATOR} ${WORK_DIR})
foreach(f best_net.hpp reference.hpp)
    if(NOT EXISTS ${WORK_DIR}/${f})
        message(FATAL_ERROR "codegen test: the generator did not write ${WORK_DIR}/${f}")
    endif()
endforeach()

separate_arguments(args UNIX_COMMAND "${CG_COMPILE_FLAGS}")
list(APPEND args ${CG_OPTIONS} -I${WORK_DIR})
list(REMOVE_DUPLICATES CG_INCLUDES)
list(REMOVE_ITEM CG_INCLUDES "")
foreach(dir IN LISTS CG_INCLUDES)
    if(NOT dir IN_LIST CG_IMPLICIT_INCLUDES)
        list(APPEND args -I${dir})
    endif()
endforeach()
foreach(def IN LISTS CG_DEFINES)
    list(APPEND args -D${def})
endforeach()
set(ENV{LC_ALL} C)
run("compiling the consumer of the generated header"
    ${COMPILER} ${args} ${SOURCE_DIR}/consumer.cpp -o ${WORK_DIR}/consumer ${CG_LINK_OPTIONS})
run("running the consumer" ${WORK_DIR}/consumer)
if(NOT run_output MATCHES "codegen consumer: OK")
    message(FATAL_ERROR "codegen test: the consumer did not report OK:\n${run_output}")
endif()
