// The core's error type: every failure the core detects itself is an Error with a stable code. The Node addon
// hands the code on to JS as Error.code; another host reads it from Error::code().
#pragma once
#include <stdexcept>
#include <string>

namespace mdistill {

// Stable codes that callers may switch on.
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

// Thrown by our own checks; carries its code across threads to the caller.
class Error : public std::runtime_error {
 public:
  Error(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

}  // namespace mdistill
