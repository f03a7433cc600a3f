// The JS class `ProcessGroup`: a c10d process group (native/dist/process_group.h) for data-parallel training.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "dist/process_group.h"

namespace mdistill {

// The connected group behind a JS `ProcessGroup`. Throws Error(kBadArgument) naming `what` when the value is not
// one, or when connect() has not resolved yet (or destroy() ran).
std::shared_ptr<dist::ProcessGroup> ProcessGroupFromJs(const Napi::Value& value, const std::string& what);

}  // namespace mdistill
