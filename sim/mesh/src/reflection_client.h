// Fetches file descriptors from a server's gRPC reflection service (v1alpha) over one
// bidi stream, using the generic stub and the private wire copy of the messages.
// Thread-safety: a free function; each call uses its own channel and completion queue.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::mesh {

// Asks `address` for the file defining `symbol`, then for every dependency that
// `have_file` says is missing, until the closure is complete. Returns serialized
// FileDescriptorProtos in the order received. Unavailable when the server cannot be
// reached or does not serve reflection; NotFound when it does not know the symbol.
Result<std::vector<std::string>> fetchFilesByReflection(
    const std::string& address, const std::string& symbol,
    const std::function<bool(const std::string& file_name)>& have_file);

}  // namespace sandbank::mesh
