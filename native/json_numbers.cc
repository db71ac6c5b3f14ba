#include "json_numbers.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

namespace tfserve {
namespace {

// Deeper nests are left to the TypeScript parser (it keeps at most 64 dense dimensions).
constexpr int kMaxRank = 32;
// Integer literals up to this many digits are exact in a double; longer ones need BigInt in JS.
constexpr int kMaxIntegerDigits = 15;
// rapidjson refuses some literals with large exponents ("Number too big"); leave those to JS.
constexpr int kMaxExponent = 300;

struct Scan {
  std::vector<double> values;
  std::vector<uint8_t> integers;
  size_t integer_count = 0;
  int64_t dims[kMaxRank];
  int rank = -1;  // depth of the arrays that hold numbers, once the first number is seen
  size_t end = 0;
};

inline bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

inline size_t SkipSpace(const uint8_t* bytes, size_t pos, size_t length) {
  while (pos < length) {
    uint8_t c = bytes[pos];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
    ++pos;
  }
  return pos;
}

bool ToDouble(const char* first, const char* last, double* value) {
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
  auto [ptr, ec] = std::from_chars(first, last, *value);
  return ec == std::errc() && ptr == last;
#else
  // strtod reads '.' in the C locale, which Node never changes.
  std::string text(first, last);
  char* parsed_end = nullptr;
  errno = 0;
  *value = std::strtod(text.c_str(), &parsed_end);
  return errno == 0 && parsed_end == text.c_str() + text.size();
#endif
}

constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                              1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// One number at bytes[*pos]: false (leave it to JS) unless it is a plain JSON number.
bool ScanNumber(const uint8_t* bytes, size_t length, size_t* pos, Scan* scan) {
  size_t start = *pos;
  size_t p = start;
  bool minus = bytes[p] == '-';
  if (minus) ++p;
  if (p >= length) return false;
  // The significant digits, while they fit a double exactly (15 of them), for Clinger's fast path.
  int64_t mantissa = 0;
  int significant = 0;
  int integer_digits = 0;
  if (bytes[p] == '0') {
    ++p;
    integer_digits = 1;
  } else if (bytes[p] >= '1' && bytes[p] <= '9') {
    while (p < length && IsDigit(bytes[p])) {
      if (significant < kMaxIntegerDigits) mantissa = mantissa * 10 + (bytes[p] - '0');
      ++significant;
      ++integer_digits;
      ++p;
    }
  } else {
    return false;  // NaN, Infinity, or not a number at all
  }
  bool is_integer = true;
  int scale = 0;  // value = mantissa * 10^scale while significant <= 15
  if (p < length && bytes[p] == '.') {
    is_integer = false;
    ++p;
    if (p >= length || !IsDigit(bytes[p])) return false;
    while (p < length && IsDigit(bytes[p])) {
      int digit = bytes[p] - '0';
      if (significant == 0 && digit == 0) {
        --scale;  // a leading zero of the fraction
      } else {
        if (significant < kMaxIntegerDigits) {
          mantissa = mantissa * 10 + digit;
          --scale;
        }
        ++significant;
      }
      ++p;
    }
  }
  if (p < length && (bytes[p] == 'e' || bytes[p] == 'E')) {
    is_integer = false;
    ++p;
    bool exponent_minus = false;
    if (p < length && (bytes[p] == '+' || bytes[p] == '-')) exponent_minus = bytes[p++] == '-';
    if (p >= length || !IsDigit(bytes[p])) return false;
    int exponent = 0;
    while (p < length && IsDigit(bytes[p])) {
      if (exponent <= kMaxExponent) exponent = exponent * 10 + (bytes[p] - '0');
      ++p;
    }
    if (exponent > kMaxExponent) return false;
    scale += exponent_minus ? -exponent : exponent;
  }
  double value;
  if (is_integer) {
    if (integer_digits > kMaxIntegerDigits) return false;  // JS keeps such literals exact as BigInt
    // rapidjson reads "-0" as the integer 0, not as -0.0.
    value = static_cast<double>(minus ? -mantissa : mantissa);
    ++scan->integer_count;
  } else if (significant <= kMaxIntegerDigits && scale >= -22 && scale <= 22) {
    // Both operands are exact doubles, so one division or product is correctly rounded.
    double magnitude = scale < 0 ? static_cast<double>(mantissa) / kPow10[-scale]
                                 : static_cast<double>(mantissa) * kPow10[scale];
    value = minus ? -magnitude : magnitude;
  } else {
    const char* text = reinterpret_cast<const char*>(bytes);
    // An underflow (1e-400) is out of range for from_chars: JS decides what it becomes.
    if (!ToDouble(text + start, text + p, &value) || !std::isfinite(value)) return false;
  }
  scan->values.push_back(value);
  scan->integers.push_back(is_integer ? 1 : 0);
  *pos = p;
  return true;
}

// The nest at bytes[start] == '['; false to leave it to JS.
bool ScanNest(const uint8_t* bytes, size_t length, size_t start, Scan* scan) {
  int64_t counts[kMaxRank];
  for (int64_t& dim : scan->dims) dim = -1;
  int depth = 0;
  counts[0] = 0;
  size_t pos = start + 1;
  for (;;) {
    // A value is expected: an array or a number (an empty array is left to JS).
    pos = SkipSpace(bytes, pos, length);
    if (pos >= length) return false;
    if (bytes[pos] == '[') {
      if (scan->rank >= 0 && depth >= scan->rank) return false;  // an array beside numbers
      if (++depth >= kMaxRank) return false;
      counts[depth] = 0;
      ++pos;
      continue;
    }
    if (scan->rank < 0) {
      scan->rank = depth;
    } else if (depth != scan->rank) {
      return false;  // a number beside arrays
    }
    if (!ScanNumber(bytes, length, &pos, scan)) return false;
    ++counts[depth];
    // After a value: ',' for the next one, or ']' closing one or more arrays.
    for (;;) {
      pos = SkipSpace(bytes, pos, length);
      if (pos >= length) return false;
      if (bytes[pos] == ',') {
        ++pos;
        break;
      }
      if (bytes[pos] != ']') return false;
      ++pos;
      int64_t count = counts[depth];
      if (scan->dims[depth] < 0) {
        scan->dims[depth] = count;
      } else if (scan->dims[depth] != count) {
        return false;  // ragged
      }
      if (depth == 0) {
        scan->end = pos;
        return true;
      }
      --depth;
      ++counts[depth];
    }
  }
}

}  // namespace

Napi::Value ScanDenseNumbers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "scanDenseNumbers(bytes: Uint8Array, start: number)");
  }
  auto array = info[0].As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "scanDenseNumbers: bytes must be a Uint8Array");
  }
  auto typed = array.As<Napi::Uint8Array>();
  const uint8_t* bytes = typed.Data();
  size_t length = typed.ElementLength();
  double start_value = info[1].As<Napi::Number>().DoubleValue();
  if (!(start_value >= 0 && start_value < static_cast<double>(length)) ||
      start_value != std::floor(start_value)) {
    throw Napi::RangeError::New(env, "scanDenseNumbers: start is not an offset into bytes");
  }
  size_t start = static_cast<size_t>(start_value);
  if (bytes[start] != '[') return env.Null();

  Scan scan;
  // A number takes two bytes at least ("1,"); untouched reserved pages cost nothing.
  size_t most = (length - start) / 2 + 1;
  scan.values.reserve(most);
  scan.integers.reserve(most);
  if (!ScanNest(bytes, length, start, &scan)) return env.Null();

  Napi::Array shape = Napi::Array::New(env, static_cast<size_t>(scan.rank) + 1);
  for (int d = 0; d <= scan.rank; ++d) {
    shape.Set(static_cast<uint32_t>(d), Napi::Number::New(env, static_cast<double>(scan.dims[d])));
  }
  size_t count = scan.values.size();
  auto values = Napi::Float64Array::New(env, count);
  std::memcpy(values.Data(), scan.values.data(), count * sizeof(double));
  auto integers = Napi::Uint8Array::New(env, count);
  std::memcpy(integers.Data(), scan.integers.data(), count);

  Napi::Array result = Napi::Array::New(env, 5);
  result.Set(0u, Napi::Number::New(env, static_cast<double>(scan.end)));
  result.Set(1u, shape);
  result.Set(2u, values);
  result.Set(3u, integers);
  result.Set(4u, Napi::Number::New(env, static_cast<double>(scan.integer_count)));
  return result;
}

}  // namespace tfserve
