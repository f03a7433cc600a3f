#include "tests/safetensors_file.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

#include "tests/json_value.h"

namespace mdistill::tests {

namespace {

at::ScalarType DtypeOf(const std::string& name, const std::string& where) {
  if (name == "F32") return at::kFloat;
  if (name == "F64") return at::kDouble;
  if (name == "I64") return at::kLong;
  throw std::runtime_error(where + ": dtype " + name + " is not supported by this reader");
}

}  // namespace

SafetensorsFile ReadSafetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8) throw std::runtime_error(path + ": shorter than the 8-byte header length");
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i) headerLength = (headerLength << 8) | static_cast<unsigned char>(bytes[i]);
  if (headerLength > bytes.size() - 8) throw std::runtime_error(path + ": header length runs past the end of the file");
  const JsonValue header = ParseJson(std::string(bytes.data() + 8, headerLength));
  const char* data = bytes.data() + 8 + headerLength;
  const size_t dataBytes = bytes.size() - 8 - headerLength;
  SafetensorsFile out;
  for (const auto& [name, entry] : header.object) {
    if (name == "__metadata__") {
      for (const auto& [key, value] : entry.object) out.metadata[key] = value.string;
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    const at::ScalarType dtype = DtypeOf(entry.At("dtype").string, where);
    std::vector<int64_t> shape;
    for (const auto& d : entry.At("shape").array) shape.push_back(static_cast<int64_t>(d.number));
    const auto& offsets = entry.At("data_offsets").array;
    if (offsets.size() != 2) throw std::runtime_error(where + ": data_offsets must hold [begin, end]");
    const auto begin = static_cast<size_t>(offsets[0].number), end = static_cast<size_t>(offsets[1].number);
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (begin > end || end > dataBytes || end - begin != static_cast<size_t>(t.nbytes())) {
      throw std::runtime_error(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                               ") do not fit its shape or the file");
    }
    std::memcpy(t.data_ptr(), data + begin, end - begin);  // little-endian on every machine we build for
    out.tensors.emplace(name, t);
  }
  return out;
}

}  // namespace mdistill::tests
