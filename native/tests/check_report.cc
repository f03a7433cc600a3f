#include "tests/check_report.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>

#include "core/error.h"

namespace mdistill::tests {

namespace {
int failures = 0;
}

void Report(bool ok, const std::string& check, const std::string& detail) {
  std::printf("%s %s: %s\n", ok ? "ok" : "FAIL", check.c_str(), detail.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

void Skip(const std::string& check, const std::string& why) {
  std::printf("skip %s: %s\n", check.c_str(), why.c_str());
  std::fflush(stdout);
}

int Failures() { return failures; }

void Guarded(const std::string& check, const std::function<void()>& body) {
  try {
    body();
  } catch (const mdistill::Error& e) {
    Report(false, check, std::string(e.code()) + ": " + e.what());
  } catch (const c10::Error& e) {
    Report(false, check, e.what_without_backtrace());
  } catch (const std::exception& e) {
    Report(false, check, e.what());
  }
}

std::string Num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", v);
  return buffer;
}

double MaxRelDiff(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor a64 = a.to(at::kDouble), b64 = b.to(at::kDouble);
  const double diff = (a64 - b64).abs().max().item<double>();
  const double scale = b64.abs().max().item<double>();
  return scale == 0 ? diff : diff / scale;
}

}  // namespace mdistill::tests
