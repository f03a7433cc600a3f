// Error mapping at the N-API boundary: every native failure reaches JS as an Error with a stable `code`.
#pragma once
#include <napi.h>

#include <exception>
#include <stdexcept>
#include <string>

namespace mdistill {

// Stable codes that JS callers may switch on.
namespace codes {
inline constexpr const char* kShapeMismatch = "MDISTILL_SHAPE_MISMATCH";
inline constexpr const char* kBadArgument = "MDISTILL_BAD_ARGUMENT";
inline constexpr const char* kBadWeights = "MDISTILL_BAD_WEIGHTS";
inline constexpr const char* kNonFiniteLoss = "MDISTILL_NONFINITE_LOSS";
inline constexpr const char* kOutOfMemory = "MDISTILL_OUT_OF_MEMORY";
inline constexpr const char* kTorch = "MDISTILL_TORCH_ERROR";
inline constexpr const char* kInternal = "MDISTILL_INTERNAL";
// A collective failed: a peer crashed, lost its connection or did not answer within --dist-timeout.
inline constexpr const char* kDistributed = "MDISTILL_DIST_FAILURE";
}  // namespace codes

// Thrown by our own checks; carries its code across threads to the JS side.
class Error : public std::runtime_error {
 public:
  Error(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

// A failure captured on a worker thread, turned into a JS Error later on the main thread.
struct CapturedError {
  std::string code;
  std::string message;
};

// Classifies the exception in flight (call inside a catch block).
CapturedError CaptureCurrentException();

Napi::Error MakeJsError(Napi::Env env, const CapturedError& error);

// Runs `body` and converts any C++ exception into a thrown JS Error with a code.
template <typename Body>
Napi::Value Guarded(Napi::Env env, Body&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw MakeJsError(env, CaptureCurrentException());
  }
}

}  // namespace mdistill
