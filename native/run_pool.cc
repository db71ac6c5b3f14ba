#include "run_pool.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <system_error>
#include <thread>

namespace tfserve {
namespace {

// Concurrent runs: as many as libuv's default pool gave before. TFSERVE_RUN_THREADS overrides it.
constexpr int kDefaultThreads = 4;
// How long a pool thread that has finished a task stays awake for the next one. A sequential
// caller needs one JS-thread turn between runs (10-50 µs), so this catches it; an idle process
// pays at most this much spinning, on one thread, per burst of runs.
constexpr std::chrono::microseconds kPoolSpin(100);
// How long, after a submit, the JS thread's event loop polls instead of sleeping while runs are in
// flight: a run shorter than this is picked up without a wake-up of the JS thread. Longer runs
// cost this much of the JS thread's time, then wake it as usual.
constexpr std::chrono::microseconds kJsPoll(100);

int ThreadCount() {
  const char* text = std::getenv("TFSERVE_RUN_THREADS");
  int count = text != nullptr ? std::atoi(text) : 0;
  return count >= 1 && count <= 256 ? count : kDefaultThreads;
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield");
#endif
}

}  // namespace

class RunPool {
 public:
  // Never destroyed: pool threads may still be parked at exit, and a static destructor would have
  // to join them.
  static RunPool& Instance() {
    static RunPool* pool = new RunPool();
    return *pool;
  }

  // False if no pool thread could be started; the task is then not taken.
  bool Submit(RunTask* task) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (threads_started_ == 0 && !Start()) return false;
    queue_.push_back(task);
    queued_.store(static_cast<int>(queue_.size()), std::memory_order_release);
    // A spinning thread takes the task without a wake-up; wake a parked one for any task beyond.
    bool wake = parked_ > 0 && static_cast<int>(queue_.size()) > spinning_.load();
    lock.unlock();
    if (wake) wake_.notify_one();
    return true;
  }

 private:
  RunPool() = default;

  bool Start() {
    int wanted = ThreadCount();
    try {
      while (threads_started_ < wanted) {
        std::thread([this] { Loop(); }).detach();
        ++threads_started_;
      }
    } catch (const std::system_error&) {
      // Fewer threads than asked for still work; none is an error for the caller.
    }
    if (threads_started_ > 0 && !atexit_registered_) {
      std::atexit([] { Instance().WaitForIdle(); });
      atexit_registered_ = true;
    }
    return threads_started_ > 0;
  }

  // At exit, before TensorFlow's static destructors (registered earlier, so run later).
  // Tasks still queued then are never started.
  void WaitForIdle() {
    std::unique_lock<std::mutex> lock(mutex_);
    exiting_ = true;
    idle_.wait(lock, [this] { return executing_ == 0; });
  }

  // Under mutex_: the next task, or null.
  RunTask* PopLocked() {
    if (queue_.empty() || exiting_) return nullptr;
    RunTask* task = queue_.front();
    queue_.pop_front();
    queued_.store(static_cast<int>(queue_.size()), std::memory_order_release);
    ++executing_;
    return task;
  }

  // Spins up to kPoolSpin for a task, unless another thread is already spinning.
  RunTask* Spin() {
    int expected = 0;
    if (!spinning_.compare_exchange_strong(expected, 1)) return nullptr;
    RunTask* task = nullptr;
    auto deadline = std::chrono::steady_clock::now() + kPoolSpin;
    while (task == nullptr) {
      if (queued_.load(std::memory_order_acquire) > 0) {
        std::lock_guard<std::mutex> lock(mutex_);
        task = PopLocked();
      } else if (std::chrono::steady_clock::now() >= deadline) {
        break;
      } else {
        for (int i = 0; i < 16; ++i) CpuRelax();
        // Spin politely: on a busy machine a runnable thread (the JS thread, TensorFlow's) gets
        // this CPU instead of waiting for the spin to end.
        std::this_thread::yield();
      }
    }
    // Submit() reads spinning_ under the mutex: a task queued after this store wakes a parked
    // thread, and one queued before it is seen by the check under the mutex in Loop().
    spinning_.store(0);
    return task;
  }

  void Loop() {
    for (;;) {
      RunTask* task = Spin();
      if (task == nullptr) {
        std::unique_lock<std::mutex> lock(mutex_);
        ++parked_;
        wake_.wait(lock, [this] { return !queue_.empty() && !exiting_; });
        --parked_;
        task = PopLocked();
        // More tasks than awake threads: pass the wake-up on.
        if (!queue_.empty() && parked_ > 0) wake_.notify_one();
      }
      task->Execute();
      std::shared_ptr<RunChannel> channel = std::move(task->channel_);
      channel->Completed(task);
      channel.reset();
      std::lock_guard<std::mutex> lock(mutex_);
      if (--executing_ == 0) idle_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<RunTask*> queue_;
  std::atomic<int> queued_{0};
  std::atomic<int> spinning_{0};
  int parked_ = 0;
  int executing_ = 0;
  int threads_started_ = 0;
  bool atexit_registered_ = false;
  bool exiting_ = false;
};

std::shared_ptr<RunChannel> RunChannel::Create(Napi::Env env) {
  auto channel = std::make_shared<RunChannel>();
  channel->env_ = env;
  // The finalizer owns one reference, so the channel outlives the thread-safe function whatever
  // order Node tears things down in.
  auto* finalizer_ref = new std::shared_ptr<RunChannel>(channel);
  napi_status status = napi_create_threadsafe_function(
      env, nullptr, nullptr, Napi::String::New(env, "tfserve.run"), 0, 1, finalizer_ref,
      OnThreadSafeFunctionFinalized, channel.get(), CallJs, &channel->tsfn_);
  if (status != napi_ok) {
    delete finalizer_ref;
    NAPI_THROW(Napi::Error::New(env, "could not create the run completion channel"), nullptr);
  }
  // Idle, it must not keep the process (or a worker) alive; Submit() refs it while runs are out.
  napi_unref_threadsafe_function(env, channel->tsfn_);
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    NAPI_THROW(Napi::Error::New(env, "could not get the event loop"), nullptr);
  }
  auto* poller = new Poller{uv_idle_t(), channel.get(), nullptr};
  uv_idle_init(loop, &poller->idle);
  poller->idle.data = poller;
  // Polling never keeps the loop alive by itself: the referenced thread-safe function does.
  uv_unref(reinterpret_cast<uv_handle_t*>(&poller->idle));
  channel->poller_ = poller;
  // Asynchronous, so that the idle handle is closed before the loop is.
  napi_status hooked =
      napi_add_async_cleanup_hook(env, OnEnvironmentCleanup, poller, &poller->cleanup_hook);
  if (hooked != napi_ok) {
    uv_close(reinterpret_cast<uv_handle_t*>(&poller->idle),
             [](uv_handle_t* handle) { delete static_cast<Poller*>(handle->data); });
    NAPI_THROW(Napi::Error::New(env, "could not register the environment cleanup hook"), nullptr);
  }
  return channel;
}

bool RunChannel::Submit(std::unique_ptr<RunTask>& task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shutting_down_ || tsfn_ == nullptr) return false;
    if (!referenced_) {
      if (napi_ref_threadsafe_function(env_, tsfn_) != napi_ok) return false;
      referenced_ = true;
    }
    ++executing_;
  }
  task->channel_ = shared_from_this();
  if (!RunPool::Instance().Submit(task.get())) {
    task->channel_.reset();
    std::lock_guard<std::mutex> lock(mutex_);
    --executing_;
    return false;
  }
  task.release();
  ++in_flight_;
  poll_until_ = std::chrono::steady_clock::now() + kJsPoll;
  if (!polling_) polling_ = uv_idle_start(&poller_->idle, OnIdle) == 0;
  return true;
}

void RunChannel::OnIdle(uv_idle_t* idle) {
  RunChannel* self = static_cast<Poller*>(idle->data)->channel;
  if (self->in_flight_ == 0 || std::chrono::steady_clock::now() >= self->poll_until_) {
    self->StopPolling();
  } else {
    std::this_thread::yield();  // as in RunPool::Spin(): let any other runnable thread have the CPU
  }
}

void RunChannel::StopPolling() {
  if (polling_ && poller_ != nullptr) uv_idle_stop(&poller_->idle);
  polling_ = false;
}

void RunChannel::Completed(RunTask* task) {
  std::lock_guard<std::mutex> lock(mutex_);
  completed_.push_back(task);
  if (!wake_pending_ && tsfn_ != nullptr && !shutting_down_) {
    // Under the mutex: the finalizer cannot run between the check and the call.
    wake_pending_ = napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking) == napi_ok;
  }
  if (--executing_ == 0) executing_done_.notify_all();
}

void RunChannel::CallJs(napi_env env, napi_value, void* context, void*) {
  if (env == nullptr) return;  // the thread-safe function is being torn down
  static_cast<RunChannel*>(context)->Drain(Napi::Env(env));
}

void RunChannel::Drain(Napi::Env env) {
  std::vector<RunTask*> tasks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shutting_down_) return;  // Shutdown() has abandoned them
    tasks.swap(completed_);
    wake_pending_ = false;
  }
  for (RunTask* task : tasks) {
    napi_handle_scope scope = nullptr;
    napi_open_handle_scope(env, &scope);
    try {
      task->Finish(env);
    } catch (const Napi::Error& error) {
      // What an exception in an AsyncWorker's OnOK() becomes: an uncaught JS exception.
      napi_fatal_exception(env, error.Value());
    }
    if (scope != nullptr) napi_close_handle_scope(env, scope);
    delete task;
  }
  in_flight_ -= static_cast<int>(tasks.size());
  if (in_flight_ == 0) {
    StopPolling();
    std::lock_guard<std::mutex> lock(mutex_);
    if (referenced_ && tsfn_ != nullptr) napi_unref_threadsafe_function(env, tsfn_);
    referenced_ = false;
  }
}

void RunChannel::OnThreadSafeFunctionFinalized(napi_env, void* data, void*) {
  auto* self = static_cast<std::shared_ptr<RunChannel>*>(data);
  {
    std::lock_guard<std::mutex> lock((*self)->mutex_);
    (*self)->tsfn_ = nullptr;
  }
  delete self;
}

void RunChannel::OnEnvironmentCleanup(napi_async_cleanup_hook_handle, void* arg) {
  auto* poller = static_cast<Poller*>(arg);
  poller->channel->Shutdown();
  poller->channel->poller_ = nullptr;
  // The hook is done once the handle is closed; nothing but the poller is touched then.
  uv_close(reinterpret_cast<uv_handle_t*>(&poller->idle), [](uv_handle_t* handle) {
    auto* closed = static_cast<Poller*>(handle->data);
    napi_remove_async_cleanup_hook(closed->cleanup_hook);
    delete closed;
  });
}

void RunChannel::Shutdown() {
  std::vector<RunTask*> tasks;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    shutting_down_ = true;
    executing_done_.wait(lock, [this] { return executing_ == 0; });
    tasks.swap(completed_);
  }
  for (RunTask* task : tasks) {
    try {
      task->Abandon(Napi::Env(env_));
    } catch (const Napi::Error&) {
      // The environment is being torn down: there is no JS left to tell.
    }
    delete task;
  }
  in_flight_ = 0;
  StopPolling();
}

}  // namespace tfserve
