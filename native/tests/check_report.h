// How the core's C++ test program reports: one line per check, "ok <check>: <figures>", "FAIL <check>: <why>" or
// "skip <check>: <why>" (a check this build cannot run, e.g. oneDNN's without oneDNN), and the failures counted.
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <string>

namespace mdistill::tests {

void Report(bool ok, const std::string& check, const std::string& detail);
void Skip(const std::string& check, const std::string& why);
int Failures();

// Runs one check's body; an exception it throws is reported as that check's failure.
void Guarded(const std::string& check, const std::function<void()>& body);

// "%.3g" of v.
std::string Num(double v);

// max |a - b| relative to max |b|, as test/loss/lossTestUtils.ts's maxRelDiff.
double MaxRelDiff(const at::Tensor& a, const at::Tensor& b);

}  // namespace mdistill::tests
