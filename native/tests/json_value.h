// A minimal JSON reader for the test program (safetensors headers and timm kwargs). Not part of the core.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace mdistill::tests {

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;  // in file order

  // nullptr when this is not an object or has no such key.
  const JsonValue* Find(const std::string& key) const;
  // Throws std::runtime_error naming the key when it is missing.
  const JsonValue& At(const std::string& key) const;
};

// Throws std::runtime_error with the byte offset of the first syntax error.
JsonValue ParseJson(const std::string& text);

}  // namespace mdistill::tests
