// The process's native heap, for the server's idle reclaim (src/server/memory-reclaim.ts).
//
// trimMemory(): glibc's malloc_trim(0), which hands the free pages of every malloc arena back to the
// OS. glibc keeps memory that was freed (tensors, request buffers, TensorFlow's scratch) in its
// arenas for reuse, so RSS stays at its peak after a large request unless asked. Returns true when
// memory was released; false where the C library has no malloc_trim (musl, macOS).
// mallocStats(): mallinfo2's totals in bytes ({arena, inUse, free, mmap}), or null without glibc.
// Both run synchronously on the calling thread; malloc_trim walks every arena (~1 ms per GB held).
#pragma once

#include <napi.h>

namespace tfserve {

Napi::Value TrimMemory(const Napi::CallbackInfo& info);
Napi::Value MallocStats(const Napi::CallbackInfo& info);

}  // namespace tfserve
