// scanDenseNumbers(bytes: Uint8Array, start: number): the bulk kernel of the REST JSON parser.
//
// src/server/json-parse.ts owns JSON: its grammar, rapidjson's error texts and offsets, and every
// unusual case. This function only reads, in one pass of native code, the common big case that would
// otherwise cost the event loop ~70 ns per number in JavaScript: a rectangular nest of arrays of plain
// numbers starting at bytes[start] == '[' (an image batch as `instances`). It returns
// [end, shape, values: Float64Array, integers: Uint8Array, integerCount] with the values correctly
// rounded, exactly as the TypeScript parser would have made them, or null as soon as anything falls
// outside that case (NaN/Infinity tokens, an integer literal of more than 15 digits, an exponent
// near the double range, an empty or ragged array, anything that is not a number, bracket, comma or
// whitespace, a syntax error): the TypeScript parser then reads the same bytes itself, errors
// included. Runs synchronously on the JS thread; it allocates only its results.
#pragma once

#include <napi.h>

namespace tfserve {

Napi::Value ScanDenseNumbers(const Napi::CallbackInfo& info);

}  // namespace tfserve
