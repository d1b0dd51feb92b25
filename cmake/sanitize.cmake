# WHITTLE_SANITIZE=ON builds every target with AddressSanitizer and
# UndefinedBehaviorSanitizer (the `sanitize` preset in CMakePresets.json,
# scripts/test.sh --sanitize). Included before any target is made, so the
# flags reach every object, the shared precompiled header and every link.
option(WHITTLE_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(NOT WHITTLE_SANITIZE)
  return()
endif()

# -g1 is enough for file:line in reports without full debug information for
# every LibTorch type the precompiled header pulls in. Optimisation stays as
# the build type sets it, so the code checked is the code that ships.
set(WHITTLE_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -g1)
add_compile_options(${WHITTLE_SANITIZER_FLAGS})
add_link_options(${WHITTLE_SANITIZER_FLAGS})

# Every test gets the sanitizer options, whatever runs it (ctest, a preset, an
# IDE), and passes them on to every `whittle` it starts, directly or through
# mpirun or a shell. Tests are added further down the tree, so this runs once
# the whole directory is configured.
#
# abort_on_error: a report ends the process on SIGABRT, not exit code 1, so a
# report in a child `whittle` that a test expects to fail cannot pass for the
# expected failure: the tests check that such runs exit by themselves.
function(whittle_sanitize_tests)
  set(suppressions "${CMAKE_SOURCE_DIR}/scripts/sanitize")
  set(common "abort_on_error=1:print_summary=1")
  set(environment
      "ASAN_OPTIONS=${common}:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:suppressions=${suppressions}/asan.supp"
      "LSAN_OPTIONS=suppressions=${suppressions}/lsan.supp:print_suppressions=0"
      "UBSAN_OPTIONS=${common}:halt_on_error=1:print_stacktrace=1:suppressions=${suppressions}/ubsan.supp")
  get_property(tests DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY TESTS)
  foreach(test IN LISTS tests)
    set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT ${environment})
    # Instrumented code runs a few times slower; the limits stay finite so a
    # hang still fails.
    get_property(timeout TEST ${test} PROPERTY TIMEOUT)
    if(timeout)
      math(EXPR timeout "${timeout} * 4")
      set_property(TEST ${test} PROPERTY TIMEOUT ${timeout})
    endif()
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL whittle_sanitize_tests)
