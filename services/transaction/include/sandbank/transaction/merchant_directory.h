// Merchant enrichment: a small built-in directory that turns a scheme merchant (id, name
// as the scheme sends it, MCC) into what a person recognises - a display name, a
// category such as "groceries" and a logo URL - with a fallback by MCC for merchants the
// directory does not know. Thread-safety: pure functions over constant data.
#pragma once

#include <string>
#include <string_view>

namespace sandbank::transaction {

struct MerchantInfo {
  std::string display_name;  // "Tesco"
  std::string category;      // "groceries", "eating_out", "transport", ... or "general"
  std::string logo_url;      // empty when the merchant is not in the directory
  bool known = false;        // found in the directory (by id or by name), not by MCC alone
};

// Looks the merchant up by id, then by its scheme name (case-insensitive, the first word
// that matches a directory entry, so "TESCO STORES 3297" is Tesco), then falls back to the
// MCC's category and a tidied scheme name ("PRET A MANGER #12" -> "Pret A Manger").
MerchantInfo enrichMerchant(std::string_view merchant_id, std::string_view name, std::string_view mcc);

// The category of an ISO 18245 merchant category code; "general" when unlisted.
std::string categoryOfMcc(std::string_view mcc);

}  // namespace sandbank::transaction
