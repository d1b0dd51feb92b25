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

# The sanitizers' options and suppression files are compiled into every
# program (sanitizer_options.cpp), so that they hold however the program starts.
add_library(whittle_sanitizer_options OBJECT "${CMAKE_CURRENT_LIST_DIR}/sanitizer_options.cpp")
target_compile_definitions(whittle_sanitizer_options PRIVATE
  WHITTLE_SANITIZER_SUPPRESSIONS="${CMAKE_SOURCE_DIR}/scripts/sanitize")
# The runtimes call these functions before they are set up themselves.
target_compile_options(whittle_sanitizer_options PRIVATE -fno-sanitize=all)

# The executables of `directory` and of the folders below it.
function(whittle_executables_below directory out)
  get_property(targets DIRECTORY "${directory}" PROPERTY BUILDSYSTEM_TARGETS)
  set(executables "")
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      list(APPEND executables ${target})
    endif()
  endforeach()
  get_property(subdirectories DIRECTORY "${directory}" PROPERTY SUBDIRECTORIES)
  foreach(subdirectory IN LISTS subdirectories)
    whittle_executables_below("${subdirectory}" below)
    list(APPEND executables ${below})
  endforeach()
  set(${out} ${executables} PARENT_SCOPE)
endfunction()

# Runs once the whole tree is configured, when every target and test exists.
function(whittle_sanitize_finish)
  whittle_executables_below("${CMAKE_SOURCE_DIR}" executables)
  foreach(executable IN LISTS executables)
    target_link_libraries(${executable} PRIVATE whittle_sanitizer_options)
  endforeach()
  # Instrumented code runs a few times slower; the limits stay finite so that
  # a hang still fails. (The tests of subfolders keep their limits: CMake
  # before 3.28 cannot set properties of another folder's tests.)
  get_property(tests DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY TESTS)
  foreach(test IN LISTS tests)
    get_property(timeout TEST ${test} PROPERTY TIMEOUT)
    if(timeout)
      math(EXPR timeout "${timeout} * 4")
      set_property(TEST ${test} PROPERTY TIMEOUT ${timeout})
    endif()
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL whittle_sanitize_finish)
