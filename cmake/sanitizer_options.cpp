// Default options of AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer
// for every program of the WHITTLE_SANITIZE build (cmake/sanitize.cmake links
// this file into each executable). The runtimes call these before anything
// else runs, so the options hold however a program starts: from ctest, from a
// test that runs `whittle` directly, through a shell or mpirun, or by hand.
// ASAN_OPTIONS, LSAN_OPTIONS and UBSAN_OPTIONS still add to or override them.
//
// abort_on_error: a report ends the process on SIGABRT, not with exit code 1,
// so that a report in a `whittle` run a test expects to fail cannot pass for
// the expected error: the tests check that such runs exit by themselves.

#ifndef WHITTLE_SANITIZER_SUPPRESSIONS
#error "WHITTLE_SANITIZER_SUPPRESSIONS (the folder of the suppression files) must be defined"
#endif

extern "C" {

const char* __asan_default_options() {
  return "abort_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:"
         "detect_stack_use_after_return=1:suppressions=" WHITTLE_SANITIZER_SUPPRESSIONS "/asan.supp";
}

const char* __lsan_default_options() {
  return "print_suppressions=0:suppressions=" WHITTLE_SANITIZER_SUPPRESSIONS "/lsan.supp";
}

const char* __ubsan_default_options() {
  return "abort_on_error=1:halt_on_error=1:print_stacktrace=1:suppressions=" WHITTLE_SANITIZER_SUPPRESSIONS
         "/ubsan.supp";
}

}  // extern "C"
