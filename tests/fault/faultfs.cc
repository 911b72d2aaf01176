// libpresence_faultfs.so: an LD_PRELOAD shim that makes writes and syncs to
// files under $PRESENCE_FAULT_DIR fail with EIO while the trigger file
// $PRESENCE_FAULT_DIR/.fail-writes exists (the fault tests create and
// remove it). Other files, and everything while the trigger is absent, go
// to libc unchanged. Covers write, pwrite, pwrite64, writev, pwritev,
// fsync, fdatasync and sync_file_range (what RocksDB's POSIX environment
// uses to write its WAL, tables and manifest).

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

namespace {

// True if the trigger exists and `fd` is a file under the fault directory.
bool ShouldFail(int fd) {
  static const char* const dir = getenv("PRESENCE_FAULT_DIR");
  if (dir == nullptr || *dir == '\0' || fd <= STDERR_FILENO) return false;
  char trigger[PATH_MAX];
  snprintf(trigger, sizeof(trigger), "%s/.fail-writes", dir);
  struct stat st;
  if (stat(trigger, &st) != 0) return false;
  char link[64];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  char path[PATH_MAX];
  const ssize_t n = readlink(link, path, sizeof(path) - 1);
  if (n <= 0) return false;
  path[n] = '\0';
  const size_t len = strlen(dir);
  return strncmp(path, dir, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

#define PRESENCE_FAULT(name, ret, params, args, fd)            \
  extern "C" ret name params {                                 \
    using Fn = ret(*) params;                                  \
    static const Fn next = Next<Fn>(#name);                    \
    if (ShouldFail(fd)) {                                      \
      errno = EIO;                                             \
      return -1;                                               \
    }                                                          \
    return next args;                                          \
  }

PRESENCE_FAULT(write, ssize_t, (int fd, const void* buf, size_t count), (fd, buf, count), fd)
PRESENCE_FAULT(pwrite, ssize_t, (int fd, const void* buf, size_t count, off_t offset),
               (fd, buf, count, offset), fd)
PRESENCE_FAULT(pwrite64, ssize_t, (int fd, const void* buf, size_t count, off64_t offset),
               (fd, buf, count, offset), fd)
PRESENCE_FAULT(writev, ssize_t, (int fd, const struct iovec* iov, int iovcnt), (fd, iov, iovcnt), fd)
PRESENCE_FAULT(pwritev, ssize_t, (int fd, const struct iovec* iov, int iovcnt, off_t offset),
               (fd, iov, iovcnt, offset), fd)
PRESENCE_FAULT(fsync, int, (int fd), (fd), fd)
PRESENCE_FAULT(fdatasync, int, (int fd), (fd), fd)
PRESENCE_FAULT(sync_file_range, int,
               (int fd, off64_t offset, off64_t nbytes, unsigned int flags),
               (fd, offset, nbytes, flags), fd)
