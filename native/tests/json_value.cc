#include "tests/json_value.h"

#include <cstdlib>
#include <stdexcept>

namespace mdistill::tests {

namespace {

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  JsonValue Document() {
    JsonValue v = Value();
    Space();
    if (pos_ != text_.size()) Fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at byte " + std::to_string(pos_));
  }

  void Space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t')) ++pos_;
  }

  bool Eat(char c) {
    Space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void Expect(char c) {
    if (!Eat(c)) Fail(std::string("expected '") + c + "'");
  }

  bool Literal(const char* word) {
    const std::string w(word);
    if (text_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }

  std::string String() {
    Expect('"');
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) Fail("unterminated escape");
      c = text_[pos_++];
      switch (c) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (pos_ + 4 > text_.size()) Fail("short \\u escape");
          const unsigned code = static_cast<unsigned>(std::strtoul(text_.substr(pos_, 4).c_str(), nullptr, 16));
          pos_ += 4;
          if (code >= 0x80) Fail("non-ASCII \\u escape (not needed here)");
          out += static_cast<char>(code);
          break;
        }
        default: out += c;  // \" \\ \/
      }
    }
    if (pos_ >= text_.size()) Fail("unterminated string");
    ++pos_;
    return out;
  }

  JsonValue Value() {
    Space();
    if (pos_ >= text_.size()) Fail("unexpected end");
    JsonValue v;
    const char c = text_[pos_];
    if (c == '{') {
      v.kind = JsonValue::Kind::kObject;
      ++pos_;
      if (Eat('}')) return v;
      do {
        Space();
        std::string key = String();
        Expect(':');
        v.object.emplace_back(std::move(key), Value());
      } while (Eat(','));
      Expect('}');
    } else if (c == '[') {
      v.kind = JsonValue::Kind::kArray;
      ++pos_;
      if (Eat(']')) return v;
      do {
        v.array.push_back(Value());
      } while (Eat(','));
      Expect(']');
    } else if (c == '"') {
      v.kind = JsonValue::Kind::kString;
      v.string = String();
    } else if (Literal("true")) {
      v.kind = JsonValue::Kind::kBool;
      v.boolean = true;
    } else if (Literal("false")) {
      v.kind = JsonValue::Kind::kBool;
    } else if (Literal("null")) {
      v.kind = JsonValue::Kind::kNull;
    } else {
      char* end = nullptr;
      v.number = std::strtod(text_.c_str() + pos_, &end);
      if (end == text_.c_str() + pos_) Fail("unexpected character");
      v.kind = JsonValue::Kind::kNumber;
      pos_ = static_cast<size_t>(end - text_.c_str());
    }
    return v;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::Find(const std::string& key) const {
  for (const auto& [k, v] : object) {
    if (k == key) return &v;
  }
  return nullptr;
}

const JsonValue& JsonValue::At(const std::string& key) const {
  const JsonValue* v = Find(key);
  if (v == nullptr) throw std::runtime_error("JSON: no key '" + key + "'");
  return *v;
}

JsonValue ParseJson(const std::string& text) { return Parser(text).Document(); }

}  // namespace mdistill::tests
