// Reads the fields of a JS options object. Every field the caller asks for is required: TypeScript fills every
// default from the one schema (src/config/schema.ts), so a missing field is a bug at the boundary, not a choice.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mdistill {

class OptionsReader {
 public:
  // `context` starts every error message, e.g. "trainer options" or "manifoldLoss".
  OptionsReader(const Napi::Value& value, std::string context);

  double Number(const char* key) const;
  int64_t Integer(const char* key) const;
  bool Bool(const char* key) const;
  std::string String(const char* key, const std::vector<std::string>& choices = {}) const;
  std::vector<int64_t> IntList(const char* key) const;
  // The raw value, for fields that are typed arrays or objects.
  Napi::Value Value(const char* key) const;
  bool Has(const char* key) const;  // present and not undefined

  const Napi::Object& object() const { return object_; }

 private:
  Napi::Value Required(const char* key, const char* kind) const;
  [[noreturn]] void Fail(const char* key, const std::string& problem) const;

  Napi::Object object_;
  std::string context_;
};

}  // namespace mdistill
