// Hashing and randomness for credentials and tokens; see secrets.h.
#include "secrets.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

namespace sandbank::edge {
namespace {

std::string toHex(const unsigned char* data, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

}  // namespace

Result<std::string> randomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    return Internal("OpenSSL's random generator failed (RAND_bytes); no token or salt can be made");
  }
  return toHex(buf.data(), buf.size());
}

std::string sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return toHex(md, len);
}

std::string passwordHash(std::string_view salt_hex, std::string_view password) {
  std::string input;
  input.reserve(salt_hex.size() + 1 + password.size());
  input.append(salt_hex).append(":").append(password);
  return sha256Hex(input);
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sandbank::edge
