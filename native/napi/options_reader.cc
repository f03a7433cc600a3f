#include "napi/options_reader.h"

#include <cmath>

#include "napi/errors.h"
#include "napi/tensor_bridge.h"

namespace mdistill {

OptionsReader::OptionsReader(const Napi::Value& value, std::string context) : context_(std::move(context)) {
  if (!value.IsObject()) throw Error(codes::kBadArgument, context_ + " must be an object");
  object_ = value.As<Napi::Object>();
}

void OptionsReader::Fail(const char* key, const std::string& problem) const {
  throw Error(codes::kBadArgument, context_ + ": " + key + " " + problem);
}

bool OptionsReader::Has(const char* key) const { return !object_.Get(key).IsUndefined(); }

Napi::Value OptionsReader::Value(const char* key) const { return object_.Get(key); }

Napi::Value OptionsReader::Required(const char* key, const char* kind) const {
  Napi::Value v = object_.Get(key);
  if (v.IsUndefined()) Fail(key, std::string("is required (") + kind + ")");
  return v;
}

double OptionsReader::Number(const char* key) const {
  Napi::Value v = Required(key, "a number");
  if (!v.IsNumber()) Fail(key, "must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t OptionsReader::Integer(const char* key) const {
  const double d = Number(key);
  if (d != std::floor(d) || std::abs(d) > 9.0e15) Fail(key, "must be an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

bool OptionsReader::Bool(const char* key) const {
  Napi::Value v = Required(key, "a boolean");
  if (!v.IsBoolean()) Fail(key, "must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string OptionsReader::String(const char* key, const std::vector<std::string>& choices) const {
  Napi::Value v = Required(key, "a string");
  if (!v.IsString()) Fail(key, "must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (choices.empty()) return s;
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == s) return s;
    list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + ("'" + choices[i] + "'");
  }
  Fail(key, "must be " + list + ", got '" + s + "'");
}

std::vector<int64_t> OptionsReader::IntList(const char* key) const {
  return ShapeFromJs(Required(key, "an array of integers"), context_ + ": " + key);
}

}  // namespace mdistill
