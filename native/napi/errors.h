// Error mapping at the N-API boundary: every native failure reaches JS as an Error with a stable `code`. The codes
// and the core's Error type live in core/error.h; this file only turns exceptions into JS errors.
#pragma once
#include <napi.h>

#include <exception>
#include <string>

#include "core/error.h"

namespace mdistill {

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
