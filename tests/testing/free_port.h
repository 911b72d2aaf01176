#ifndef PRESENCE_TESTS_TESTING_FREE_PORT_H_
#define PRESENCE_TESTS_TESTING_FREE_PORT_H_

// A loopback TCP port for a server that must be told its port (PostgreSQL,
// etcd) rather than pick one itself.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace presence::testing {

// A loopback TCP port that was free a moment ago (bound to port 0, read,
// released), or 0 if none could be had. Another process may take it before
// the server binds it: callers retry on another port when the server fails
// to start.
inline int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_FREE_PORT_H_
