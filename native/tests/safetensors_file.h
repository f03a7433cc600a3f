// Reads a safetensors file for the test program: 8-byte little-endian header length, a JSON header (dtype, shape,
// data_offsets per tensor, optional __metadata__ of strings), then the raw little-endian data. Not part of the core.
#pragma once
#include <ATen/ATen.h>

#include <map>
#include <string>

namespace mdistill::tests {

struct SafetensorsFile {
  std::map<std::string, at::Tensor> tensors;  // CPU, owning copies (F32, F64 and I64 are supported)
  std::map<std::string, std::string> metadata;
};

// Throws std::runtime_error naming the file and the tensor at fault.
SafetensorsFile ReadSafetensors(const std::string& path);

}  // namespace mdistill::tests
