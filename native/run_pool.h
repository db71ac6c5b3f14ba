// RunPool: the process-wide threads that call TF_SessionRun. RunChannel: how a finished run gets
// back to the JS thread of the environment (main thread or worker_thread) that started it.
//
// Why not the libuv pool: each hop between threads costs a wake-up (35 µs and more on a VM), and a
// run takes two hops. Here neither side sleeps while a short run is out:
//  - a pool thread that has finished a task spins briefly (one spinner at a time, with a pause
//    instruction, yielding the CPU to any runnable thread) before it parks on a condition
//    variable, so the next submit finds it awake;
//  - while runs are in flight, for a bounded time after each submit, an idle handle keeps the
//    environment's event loop polling instead of sleeping, so the completion signal (a
//    thread-safe function) is seen at once.
// It also leaves libuv's four threads to fs, zlib, dns and crypto.
//
// Threads: Submit() on a JS thread; RunTask::Execute() on a pool thread (no JS); Completed() on the
// pool thread hands the task to its channel and signals the thread-safe function; the JS thread
// drains every completed task of that environment in one call (RunTask::Finish()).
//
// Ownership and teardown: a submitted task is owned by the pool until Execute() returns, then by
// its channel until Finish() or Abandon() has run on the JS thread; then the channel deletes it.
// A channel lives as long as its environment. At environment teardown its cleanup hook refuses new
// runs, waits for the ones executing (as teardown waits for libuv's pool) and abandons the
// undelivered ones: their TF tensors are freed and no JS runs. The pool never
// signals the thread-safe function after its finalizer has run (both under the channel's mutex).
// At process exit an atexit handler waits for executing tasks before TensorFlow's static
// destructors run, as libuv joins its own pool.
#pragma once

#include <napi.h>
#include <uv.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace tfserve {

class RunChannel;

class RunTask {
 public:
  virtual ~RunTask() = default;
  // Pool thread. Must not touch JS.
  virtual void Execute() = 0;
  // JS thread, inside a handle scope: settle the outcome. A Napi::Error it throws becomes an
  // uncaught JS exception, as one from an AsyncWorker's OnOK() would.
  virtual void Finish(Napi::Env env) = 0;
  // JS thread while the environment is torn down: free everything, call no JS.
  virtual void Abandon(Napi::Env env) = 0;

 private:
  friend class RunChannel;
  friend class RunPool;
  std::shared_ptr<RunChannel> channel_;
};

class RunChannel : public std::enable_shared_from_this<RunChannel> {
 public:
  // JS thread, once per environment (module init).
  static std::shared_ptr<RunChannel> Create(Napi::Env env);

  // JS thread: hands `task` to the pool (releasing it). False, with `task` still owned by the
  // caller, once the environment is shutting down or if no pool thread can be started.
  bool Submit(std::unique_ptr<RunTask>& task);

  // Pool thread, after Execute().
  void Completed(RunTask* task);

 private:
  static void CallJs(napi_env env, napi_value, void* context, void*);
  static void OnThreadSafeFunctionFinalized(napi_env, void* data, void*);
  static void OnEnvironmentCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  static void OnIdle(uv_idle_t* idle);
  void Drain(Napi::Env env);
  void StopPolling();
  void Shutdown();

  // JS thread only.
  napi_env env_ = nullptr;
  int in_flight_ = 0;
  bool referenced_ = false;  // the thread-safe function keeps the loop alive
  // While active (runs in flight, for a bounded time after each submit) the event loop polls
  // instead of sleeping, so a completion is picked up without waking the JS thread.
  struct Poller {
    uv_idle_t idle;
    RunChannel* channel;
    napi_async_cleanup_hook_handle cleanup_hook;
  };
  Poller* poller_ = nullptr;  // closed and freed at environment teardown
  bool polling_ = false;
  std::chrono::steady_clock::time_point poll_until_;

  std::mutex mutex_;
  std::condition_variable executing_done_;
  napi_threadsafe_function tsfn_ = nullptr;  // null once finalized
  int executing_ = 0;
  bool shutting_down_ = false;
  bool wake_pending_ = false;
  std::vector<RunTask*> completed_;
};

}  // namespace tfserve
