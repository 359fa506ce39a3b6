// The header must be usable from C++: extern "C" linkage, no C-only constructs.
// Built with -Wall -Wextra -Werror -fsanitize=address,undefined against libkernels.a.
#include "kernels.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <set>

int main() {
  int failures = 0;
  int checks = 0;
  auto check = [&](bool ok, const char *what) {
    ++checks;
    if (!ok) {
      ++failures;
      std::fprintf(stderr, "check failed: %s\n", what);
    }
  };

  check(kn_version() == (KN_VERSION_MAJOR << 16 | KN_VERSION_MINOR << 8 | KN_VERSION_PATCH),
        "kn_version matches the header macros");

  std::set<std::string> sentences;
  for (kn_status s = KN_ERR_INTERNAL; s <= KN_NOT_CONVERGED; ++s) {
    const char *text = kn_status_str(s);
    check(text != nullptr && std::strlen(text) > 0, "status sentence present");
    sentences.insert(text);
  }
  check(sentences.size() == 10, "ten distinct status sentences");

  kn_report report{};
  check(report.iterations == 0 && report.converged == 0, "kn_report value-initialises");

  std::printf("C++ test: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
