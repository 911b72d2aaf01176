#include "services/timeline/organization_cache.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/server/log.h"

namespace presence::timeline {

using ::presence::registry::v1::Organization;
using ::presence::registry::v1::OrganizationChange;

bool OrganizationCache::filled() const {
  absl::MutexLock lock(&mu_);
  return filled_;
}

int64_t OrganizationCache::revision() const {
  absl::MutexLock lock(&mu_);
  return revision_;
}

std::shared_ptr<const OrganizationCache::View> OrganizationCache::Current()
    const {
  absl::MutexLock lock(&mu_);
  if (!filled_) return nullptr;
  if (view_ == nullptr) {
    auto view = std::make_shared<View>();
    view->revision = revision_;
    view->organizations.reserve(by_name_.size());
    for (const auto& [name, org] : by_name_) view->organizations.push_back(org);
    view_ = std::move(view);
  }
  return view_;
}

std::shared_ptr<const Organization> OrganizationCache::Get(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return nullptr;
  return it->second;
}

bool OrganizationCache::live() const {
  absl::MutexLock lock(&mu_);
  return live_;
}

void OrganizationCache::SetLive(bool live) {
  absl::MutexLock lock(&mu_);
  live_ = live;
}

size_t OrganizationCache::size() const {
  absl::MutexLock lock(&mu_);
  return by_name_.size();
}

void OrganizationCache::Replace(std::vector<Organization> organizations,
                                int64_t revision) {
  std::map<std::string, std::shared_ptr<const Organization>> by_name;
  for (Organization& org : organizations) {
    std::string name = org.name();
    by_name[std::move(name)] = std::make_shared<const Organization>(std::move(org));
  }
  absl::MutexLock lock(&mu_);
  by_name_ = std::move(by_name);
  revision_ = revision;
  filled_ = true;
  view_ = nullptr;
}

void OrganizationCache::Apply(const OrganizationChange& change) {
  absl::MutexLock lock(&mu_);
  const Organization& org = change.organization();
  auto it = by_name_.find(org.name());
  if (it == by_name_.end() || it->second->revision() < org.revision()) {
    by_name_[org.name()] = std::make_shared<const Organization>(org);
  }
  revision_ = std::max(revision_, change.revision());
  view_ = nullptr;
}

RegistryFollower::RegistryFollower(RegistryClient* client,
                                   OrganizationCache* cache,
                                   FollowerOptions options)
    : client_(client),
      cache_(cache),
      options_(options),
      backoff_(options.initial_backoff) {}

RegistryFollower::~RegistryFollower() { Stop(); }

void RegistryFollower::Start() {
  thread_ = std::thread([this] { Run(); });
}

void RegistryFollower::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (stream_ != nullptr) stream_->Cancel();
  }
  if (thread_.joinable()) thread_.join();
}

bool RegistryFollower::live() const {
  absl::MutexLock lock(&mu_);
  return live_;
}

int RegistryFollower::lists() const {
  absl::MutexLock lock(&mu_);
  return lists_;
}

bool RegistryFollower::WaitFor(
    const std::function<bool(bool, int64_t)>& predicate,
    absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const auto ready = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return predicate(live_, seen_revision_);
  };
  return mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
}

bool RegistryFollower::Backoff() {
  absl::MutexLock lock(&mu_);
  const absl::Duration wait = backoff_;
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  const auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return stopping_;
  };
  return !mu_.AwaitWithTimeout(absl::Condition(&stopping), wait);
}

bool RegistryFollower::ListAll() {
  std::vector<Organization> all;
  registry::v1::ListOrganizationsRequest request;
  request.set_page_size(1000);
  request.set_show_deleted(true);
  int64_t revision = -1;
  while (true) {
    CallContext call;
    call.deadline = absl::Now() + options_.list_timeout;
    absl::StatusOr<registry::v1::ListOrganizationsResponse> page =
        client_->ListOrganizations(request, call);
    if (!page.ok()) {
      LogWarning(absl::StrCat("registry listing failed: ",
                              page.status().ToString()));
      return false;
    }
    // Changes after the first page's revision are replayed by the watch.
    if (revision < 0) revision = page->revision();
    for (Organization& org : *page->mutable_organizations()) {
      all.push_back(std::move(org));
    }
    if (page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
  }
  cache_->Replace(std::move(all), revision);
  absl::MutexLock lock(&mu_);
  ++lists_;
  seen_revision_ = revision;
  return true;
}

void RegistryFollower::Run() {
  bool need_list = true;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (need_list) {
      if (!ListAll()) {
        if (!Backoff()) return;
        continue;
      }
      need_list = false;
    }
    std::unique_ptr<OrganizationStream> stream =
        client_->WatchOrganizations(cache_->revision());
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stream_ = stream.get();
    }
    const bool established = stream->WaitUntilEstablished();
    if (established) {
      cache_->SetLive(true);
      absl::MutexLock lock(&mu_);
      live_ = true;
      backoff_ = options_.initial_backoff;
    }
    OrganizationChange change;
    while (stream->Read(&change)) {
      cache_->Apply(change);
      absl::MutexLock lock(&mu_);
      live_ = true;
      seen_revision_ = change.revision();
    }
    const absl::Status status = stream->Finish();
    cache_->SetLive(false);
    {
      absl::MutexLock lock(&mu_);
      live_ = false;
      stream_ = nullptr;
      if (stopping_) return;
    }
    if (status.code() == absl::StatusCode::kOutOfRange) {
      LogWarning(absl::StrCat("registry history is gone, listing again: ",
                              status.ToString()));
      need_list = true;
      continue;
    }
    // A stream that was up and ends UNAVAILABLE is the registry closing the
    // connection: routinely at its --max_connection_age (GOAWAY), or as it
    // restarts. Resuming is business as usual (INFO); a stream that could
    // not be established is trouble (WARNING), and so is any other end.
    Log(established && status.code() == absl::StatusCode::kUnavailable ? LogLevel::kInfo
                                                                         : LogLevel::kWarning,
        "registry watch ended",
        {{"message", absl::StrCat("registry watch ended, resuming from revision ",
                                  cache_->revision(), ": ", status.ToString())},
         {"revision", cache_->revision()},
         {"code", absl::StatusCodeToString(status.code())}});
    if (!Backoff()) return;
  }
}

}  // namespace presence::timeline
