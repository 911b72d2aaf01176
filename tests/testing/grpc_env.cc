// Compiled into every test binary: an idle gRPC client channel in the test
// process otherwise notices a server's shutdown only when gRPC 1.51's backup
// poller runs (every 5 s), which holds up the server's graceful shutdown
// (grpc/grpc#41050). Must run before grpc_init, hence a static initializer.

#include <stdlib.h>

namespace {
const bool kBackupPollSet = [] {
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/0);
  return true;
}();
}  // namespace
