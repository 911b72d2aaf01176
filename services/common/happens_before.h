#ifndef PRESENCE_SERVICES_COMMON_HAPPENS_BEFORE_H_
#define PRESENCE_SERVICES_COMMON_HAPPENS_BEFORE_H_

// Happens-before edges that ThreadSanitizer cannot see because they run
// through code it does not instrument (Debian's gRPC): the thread handing off
// calls PRESENCE_HAPPENS_BEFORE(token) before the hand-off, the receiving
// thread PRESENCE_HAPPENS_AFTER(token) after it, and TSan then orders
// everything the first did before its call before everything the second
// does after its own. Use only for an order the library guarantees (e.g.
// gRPC runs a reactor's OnWriteDone after the StartWrite it completes), never
// to quiet a report you cannot explain. Compiled to nothing without TSan.

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PRESENCE_TSAN_ENABLED 1
#endif
#endif
#if !defined(PRESENCE_TSAN_ENABLED) && defined(__SANITIZE_THREAD__)
#define PRESENCE_TSAN_ENABLED 1
#endif

#ifdef PRESENCE_TSAN_ENABLED
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define PRESENCE_HAPPENS_BEFORE(token) \
  __tsan_release(const_cast<void*>(static_cast<const void*>(token)))
#define PRESENCE_HAPPENS_AFTER(token) \
  __tsan_acquire(const_cast<void*>(static_cast<const void*>(token)))
#else
#define PRESENCE_HAPPENS_BEFORE(token) static_cast<void>(token)
#define PRESENCE_HAPPENS_AFTER(token) static_cast<void>(token)
#endif

namespace presence {

// The token of an order gRPC gives through its own atomics: every
// callback-API reactor's OnDone returns before grpc::Server::Wait() returns.
// Reactors end OnDone with PRESENCE_HAPPENS_BEFORE(&kReactorsDone);
// RunningServer::Shutdown follows Wait() with PRESENCE_HAPPENS_AFTER.
inline const char kReactorsDone = 0;

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_HAPPENS_BEFORE_H_
