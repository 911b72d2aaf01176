#ifndef PRESENCE_SERVICES_TIMELINE_ORGANIZATION_CACHE_H_
#define PRESENCE_SERVICES_TIMELINE_ORGANIZATION_CACHE_H_

// The timeline's copy of the registry's organizations, kept current by
// following WatchOrganizations, so that GetPresence answers while the
// registry is down.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/timeline/registry_client.h"

namespace presence::timeline {

// Thread-safe.
class OrganizationCache {
 public:
  // An immutable view of the whole cache at one registry revision.
  struct View {
    // The registry revision the view reflects.
    int64_t revision = 0;
    // Every organization, deleted ones included, ordered by name.
    std::vector<std::shared_ptr<const registry::v1::Organization>> organizations;
  };

  // True once a full listing has been loaded.
  bool filled() const;
  // The registry revision the cache reflects.
  int64_t revision() const;
  // The current view, null until the cache has been filled once. Shared, not
  // copied: a view is built once per change of the cache (the first call
  // after a change pays for one pointer per organization), so readers of an
  // unchanged cache copy nothing. The view stays valid, unchanged, for as
  // long as the caller holds it.
  std::shared_ptr<const View> Current() const;
  // The organization named `name` (deleted ones included), null if not
  // cached. Shared, not copied (a change replaces the pointer, never the
  // organization): a CreateEvent's check costs a map lookup.
  std::shared_ptr<const registry::v1::Organization> Get(const std::string& name) const;
  size_t size() const;

  // True while the cache follows the registry's change feed live, so that
  // it may answer for the registry (set by RegistryFollower).
  bool live() const;
  void SetLive(bool live);

  // Replaces the content with a full listing taken at `revision`.
  void Replace(std::vector<registry::v1::Organization> organizations,
               int64_t revision);
  // Applies one change; changes at or below the cached version of the
  // organization are ignored (replays after a re-list are harmless).
  void Apply(const registry::v1::OrganizationChange& change);

 private:
  mutable absl::Mutex mu_;
  bool filled_ ABSL_GUARDED_BY(mu_) = false;
  bool live_ ABSL_GUARDED_BY(mu_) = false;
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  // Organizations are immutable once cached (a change replaces the pointer),
  // so views share them.
  std::map<std::string, std::shared_ptr<const registry::v1::Organization>>
      by_name_ ABSL_GUARDED_BY(mu_);
  // Built by Current() from by_name_; reset by every change.
  mutable std::shared_ptr<const View> view_ ABSL_GUARDED_BY(mu_);
};

struct FollowerOptions {
  // Backoff between reconnection attempts: initial, doubling up to max.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Deadline of each listing page.
  absl::Duration list_timeout = absl::Seconds(10);
};

// Keeps an OrganizationCache in step with the registry on a thread of its
// own: lists every organization once, then watches from the listing's
// revision; after a disconnect it resumes from the last revision it saw, and
// when the registry no longer holds that history (OUT_OF_RANGE) it lists
// again.
class RegistryFollower {
 public:
  // `client` and `cache` are not owned and must outlive the follower.
  RegistryFollower(RegistryClient* client, OrganizationCache* cache,
                   FollowerOptions options = {});
  ~RegistryFollower();  // Stops.

  void Start();
  // Ends the stream and joins the thread. Idempotent.
  void Stop();

  // True while the watch stream is established.
  bool live() const;
  // Blocks until `predicate` holds for (live, cache revision) or `timeout`.
  bool WaitFor(const std::function<bool(bool live, int64_t revision)>& predicate,
               absl::Duration timeout) const;
  // How many times the follower listed the registry (for tests and metrics).
  int lists() const;

 private:
  void Run();
  bool ListAll();
  // Sleeps for the backoff unless stopped first; returns false if stopped.
  bool Backoff();

  RegistryClient* const client_;
  OrganizationCache* const cache_;
  const FollowerOptions options_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool live_ ABSL_GUARDED_BY(mu_) = false;
  int lists_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t seen_revision_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  OrganizationStream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace presence::timeline

#endif  // PRESENCE_SERVICES_TIMELINE_ORGANIZATION_CACHE_H_
