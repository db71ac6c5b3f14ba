#include "memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tfserve {

Napi::Value TrimMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

Napi::Value MallocStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 stats = mallinfo2();
  Napi::Object result = Napi::Object::New(env);
  // arena: bytes obtained with sbrk/mmap for the arenas; uordblks in use, fordblks free in them;
  // hblkhd: bytes in chunks mmapped on their own (returned to the OS as soon as they are freed).
  result.Set("arena", Napi::Number::New(env, static_cast<double>(stats.arena)));
  result.Set("inUse", Napi::Number::New(env, static_cast<double>(stats.uordblks)));
  result.Set("free", Napi::Number::New(env, static_cast<double>(stats.fordblks)));
  result.Set("mmap", Napi::Number::New(env, static_cast<double>(stats.hblkhd)));
  return result;
#else
  return env.Null();
#endif
}

}  // namespace tfserve
