// The fused manifold loss on a device (CUDA, or the CPU for a dry run), without Node: (1) its values and student
// gradients in float32 against the naive ATen form in float64 on the same device and rows; (2) forward + backward
// time and memory, fused against naive float32, at the paper's shape (B 64, N 196 + cls, d 192/384, 8 pairs,
// K 192), features resident on the device. Prints one JSON object; exits 1 when a correctness bound fails.
//   mdistill_loss_check [--device cuda|cpu] [--batch 64] [--tokens 196] [--pairs 8] [--reps 10] [--warmup 3]
// Memory is the CUDA caching allocator's peak beyond what was allocated before the call (the inputs): memory_ratio
// leaves out the student-shaped gradients both return, memory_ratio_with_grads keeps them; null on the CPU.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/error.h"
#include "diagnostics/device_memory.h"
#include "loss/manifold_loss.h"

namespace {

using namespace mdistill;

// Bounds of check (c): the fused float32 loss against the exact (float64) definition.
constexpr double kValueTolerance = 1e-5;  // relative, per term
constexpr double kGradTolerance = 1e-4;   // max |diff| over max |grad|, per pair

struct Shape {
  int64_t batch, tokens, extra, ds, dt, pairs, k, maxPatchNum;
};

struct Features {
  std::vector<at::Tensor> student, teacher, perms;
};

loss::ManifoldOptions Options(const Shape& sh, loss::ManifoldImpl impl) {
  loss::ManifoldOptions o;
  o.wSample = 0.1;
  o.wPatch = 4;
  o.wRand = 0.2;
  o.k = sh.k;
  o.maxPatchNum = sh.maxPatchNum;
  o.impl = impl;
  return o;
}

// Drawn on the CPU from a seed (the same numbers on every device), then moved.
Features MakeFeatures(const Shape& sh, at::Device device, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  Features f;
  for (int64_t p = 0; p < sh.pairs; ++p) {
    f.student.push_back(at::randn({sh.batch, sh.tokens + sh.extra, sh.ds}, gen).to(device));
    f.teacher.push_back(at::randn({sh.batch, sh.tokens, sh.dt}, gen).to(device));
  }
  const auto plans = loss::PlanPairs(f.student, f.teacher, Options(sh, loss::ManifoldImpl::kFused));
  f.perms = loss::DrawManifoldRows(plans, sh.k, gen);
  return f;
}

struct Evaluated {
  double sample = 0, patch = 0, rand = 0;
  std::vector<at::Tensor> grads;
};

// Values and d(total)/d(student) of one implementation in one dtype.
Evaluated Evaluate(const Features& f, const Shape& sh, loss::ManifoldImpl impl, at::ScalarType dtype) {
  std::vector<at::Tensor> student, teacher;
  for (const auto& s : f.student) student.push_back(s.to(dtype).detach().requires_grad_(true));
  for (const auto& t : f.teacher) teacher.push_back(t.to(dtype));
  const loss::ManifoldTerms terms = loss::ManifoldLossWithPerms(student, teacher, Options(sh, impl), f.perms);
  Evaluated e;
  e.grads = torch::autograd::grad({terms.total}, student);
  e.sample = terms.sample.item<double>();
  e.patch = terms.patch.item<double>();
  e.rand = terms.rand.item<double>();
  return e;
}

// A message as a JSON string's content.
std::string Escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

double Rel(double got, double want) { return std::abs(got - want) / std::max(std::abs(want), 1e-30); }

std::string Json(double v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream s;
  s.precision(4);
  s << v;
  return s.str();
}

// Check (c) on one shape: fused float32 and naive float32 against naive float64.
std::string CheckCorrectness(const std::string& name, const Shape& sh, at::Device device, bool* ok) {
  const Features f = MakeFeatures(sh, device, 5);
  const Evaluated exact = Evaluate(f, sh, loss::ManifoldImpl::kNaive, at::kDouble);
  std::ostringstream out;
  out << "{\"case\":\"" << name << "\"";
  for (const auto impl : {loss::ManifoldImpl::kFused, loss::ManifoldImpl::kNaive}) {
    const Evaluated e = Evaluate(f, sh, impl, at::kFloat);
    const double value = std::max({Rel(e.sample, exact.sample), Rel(e.patch, exact.patch), Rel(e.rand, exact.rand)});
    double grad = 0;
    for (size_t i = 0; i < e.grads.size(); ++i) {
      const at::Tensor want = exact.grads[i];
      grad = std::max(grad, (e.grads[i].to(at::kDouble) - want).abs().max().item<double>() / want.abs().max().item<double>());
    }
    const bool fused = impl == loss::ManifoldImpl::kFused;
    // The bounds hold the fused kernel; the naive float32 figures show what plain ATen reaches at the same shape.
    if (fused && !(value <= kValueTolerance && grad <= kGradTolerance)) *ok = false;
    out << ",\"" << (fused ? "fused" : "naive") << "_f32_vs_f64\":{\"value_rel\":" << Json(value) << ",\"grad_rel\":" << Json(grad) << "}";
  }
  out << "}";
  return out.str();
}

struct Timed {
  double seconds = 0;
  double extraBytes = NAN;
};

// Check (g): forward + backward of one implementation, median seconds over `reps`, and its peak memory.
Timed TimeImpl(const Features& f, const Shape& sh, loss::ManifoldImpl impl, at::Device device, int warmup, int reps) {
  std::vector<at::Tensor> student;
  for (const auto& s : f.student) student.push_back(s.detach().requires_grad_(true));
  auto once = [&] {
    const loss::ManifoldTerms terms = loss::ManifoldLossWithPerms(student, f.teacher, Options(sh, impl), f.perms);
    const auto grads = torch::autograd::grad({terms.total}, student);
    // Reading a scalar waits for the device's queue: the time includes all the work.
    return grads.back().sum().item<double>() + terms.total.item<double>();
  };
  for (int i = 0; i < warmup; ++i) once();
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    once();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  Timed t;
  t.seconds = times[times.size() / 2];
  if (device.is_cuda()) {
    const int64_t before = diagnostics::DeviceMemory(device, /*resetPeak=*/true).allocatedBytes;
    once();
    t.extraBytes = static_cast<double>(diagnostics::DeviceMemory(device, false).peakBytes - before);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags{{"device", "cuda"}, {"batch", "64"}, {"tokens", "196"}, {"pairs", "8"},
                                           {"reps", "10"}, {"warmup", "3"}};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || flags.count(key.substr(2)) == 0) {
      std::fprintf(stderr, "mdistill_loss_check: unknown flag '%s' (known: --device --batch --tokens --pairs --reps --warmup)\n", argv[i]);
      return 2;
    }
    flags[key.substr(2)] = argv[i + 1];
  }
  try {
    const at::Device device = ParseDevice(flags["device"], "--device");
    const int64_t B = std::stoll(flags["batch"]), N = std::stoll(flags["tokens"]), P = std::stoll(flags["pairs"]);
    const int reps = std::stoi(flags["reps"]), warmup = std::stoi(flags["warmup"]);
    bool ok = true;
    std::ostringstream out;
    out << "{\"device\":\"" << device.str() << "\",\"tolerance\":{\"value_rel\":" << kValueTolerance
        << ",\"grad_rel\":" << kGradTolerance << "},\"correctness\":[";
    out << CheckCorrectness("one pair, B " + std::to_string(B) + " N " + std::to_string(N) + "+1, d 192/384, K 192",
                            {B, N, 1, 192, 384, 1, 192, 0}, device, &ok);
    out << "," << CheckCorrectness("merge 14x14 (+cls) with 7x7, max_patch_num 49", {8, 196, 1, 64, 96, 1, 64, 49}, device, &ok);
    out << "," << CheckCorrectness("K >= B*N clamped", {2, 9, 0, 16, 24, 2, 100, 0}, device, &ok);
    out << "],";
    const Shape bench{B, N, 1, 192, 384, P, 192, 0};
    const Features f = MakeFeatures(bench, device, 9);
    const Timed fused = TimeImpl(f, bench, loss::ManifoldImpl::kFused, device, warmup, reps);
    const Timed naive = TimeImpl(f, bench, loss::ManifoldImpl::kNaive, device, warmup, reps);
    // Both hand back student-shaped float32 gradients; beyond them is what the loss itself needs.
    const double gradBytes = static_cast<double>(P * B * (N + 1) * 192 * 4);
    out << "\"bench\":{\"shape\":{\"batch\":" << B << ",\"tokens\":" << N << ",\"extra\":1,\"ds\":192,\"dt\":384,\"pairs\":" << P
        << ",\"k\":192},\"reps\":" << reps << ",\"fused_ms\":" << Json(fused.seconds * 1e3) << ",\"naive_ms\":"
        << Json(naive.seconds * 1e3) << ",\"speedup\":" << Json(naive.seconds / fused.seconds)
        << ",\"fused_extra_mb\":" << Json(fused.extraBytes / (1 << 20)) << ",\"naive_extra_mb\":" << Json(naive.extraBytes / (1 << 20))
        << ",\"memory_ratio\":" << Json((fused.extraBytes - gradBytes) / (naive.extraBytes - gradBytes))
        << ",\"memory_ratio_with_grads\":" << Json(fused.extraBytes / naive.extraBytes) << "},\"ok\":" << (ok ? "true" : "false") << "}";
    std::printf("%s\n", out.str().c_str());
    return ok ? 0 : 1;
  } catch (const Error& e) {
    std::printf("{\"ok\":false,\"error\":\"%s: %s\"}\n", e.code(), Escape(e.what()).c_str());
  } catch (const c10::Error& e) {
    std::printf("{\"ok\":false,\"error\":\"%s\"}\n", Escape(e.what_without_backtrace()).c_str());
  } catch (const std::exception& e) {
    std::printf("{\"ok\":false,\"error\":\"%s\"}\n", Escape(e.what()).c_str());
  }
  return 1;
}
