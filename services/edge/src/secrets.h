// Salted password hashes, session tokens and constant-time comparison, on OpenSSL's
// libcrypto (SHA-256, RAND_bytes). Internal to the edge.
// Thread-safety: pure functions; OpenSSL's RNG is thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sandbank/core/result.h"

namespace sandbank::edge {

// `bytes` bytes from OpenSSL's CSPRNG as lowercase hex (2 * bytes digits).
Result<std::string> randomHex(size_t bytes);
// SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256Hex(std::string_view data);
// The stored form of a password: SHA-256 over the salt, a separator and the password.
std::string passwordHash(std::string_view salt_hex, std::string_view password);
// Compares without leaking where the first difference is.
bool constantTimeEquals(std::string_view a, std::string_view b);

}  // namespace sandbank::edge
