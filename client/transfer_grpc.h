#ifndef PRESENCE_CLIENT_TRANSFER_GRPC_H_
#define PRESENCE_CLIENT_TRANSFER_GRPC_H_

// The TransferTarget of the real services: their gRPC APIs through the
// run's Context (addresses, credentials, per-call deadline).

#include <memory>

#include "client/context.h"
#include "client/transfer.h"

namespace presence::cli {

// `context` is not owned and must outlive the target. Listings read pages of
// 1000; creations go through the batch methods; each call has the run's
// deadline. Failures are CallErrors naming the resource.
std::unique_ptr<TransferTarget> NewGrpcTransferTarget(Context& context);

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_TRANSFER_GRPC_H_
