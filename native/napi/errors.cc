#include "napi/errors.h"

#include <c10/util/Exception.h>

#include <new>
#include <regex>

namespace mdistill {

CapturedError CaptureCurrentException() {
  try {
    throw;
  } catch (const Error& e) {
    return {e.code(), e.what()};
  } catch (const c10::Error& e) {
    // libtorch raises plain c10::Error from TORCH_CHECK; its wording is the only hint of the cause.
    static const std::regex shape(R"(shape|size mismatch|must match the size|cannot be multiplied|expected .*dim)",
                                  std::regex::icase);
    static const std::regex memory(R"(out of memory|can't allocate memory)", std::regex::icase);
    const std::string message = e.what_without_backtrace();
    if (std::regex_search(message, memory)) return {codes::kOutOfMemory, message};
    if (std::regex_search(message, shape)) return {codes::kShapeMismatch, message};
    return {codes::kTorch, message};
  } catch (const std::bad_alloc&) {
    return {codes::kOutOfMemory, "out of memory: reduce --batch-size or the model size"};
  } catch (const std::exception& e) {
    return {codes::kInternal, e.what()};
  } catch (...) {
    return {codes::kInternal, "unknown native exception"};
  }
}

Napi::Error MakeJsError(Napi::Env env, const CapturedError& error) {
  Napi::Error js = Napi::Error::New(env, error.message);
  js.Set("code", Napi::String::New(env, error.code));
  return js;
}

}  // namespace mdistill
