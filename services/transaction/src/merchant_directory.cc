// The built-in merchant directory and MCC table; see merchant_directory.h.
#include "sandbank/transaction/merchant_directory.h"

#include <array>
#include <cctype>
#include <utility>

namespace sandbank::transaction {
namespace {

struct Entry {
  std::string_view id;    // the scheme merchant id the simulator's load uses
  std::string_view key;   // lower-case word a scheme name starts with
  std::string_view name;  // display name
  std::string_view category;
};

constexpr std::array<Entry, 16> kDirectory = {{
    {"m_tesco", "tesco", "Tesco", "groceries"},
    {"m_sainsburys", "sainsbury", "Sainsbury's", "groceries"},
    {"m_waitrose", "waitrose", "Waitrose", "groceries"},
    {"m_lidl", "lidl", "Lidl", "groceries"},
    {"m_pret", "pret", "Pret A Manger", "eating_out"},
    {"m_starbucks", "starbucks", "Starbucks", "eating_out"},
    {"m_deliveroo", "deliveroo", "Deliveroo", "eating_out"},
    {"m_tfl", "tfl", "Transport for London", "transport"},
    {"m_uber", "uber", "Uber", "transport"},
    {"m_trainline", "trainline", "Trainline", "transport"},
    {"m_amazon", "amazon", "Amazon", "shopping"},
    {"m_apple", "apple", "Apple", "shopping"},
    {"m_netflix", "netflix", "Netflix", "entertainment"},
    {"m_spotify", "spotify", "Spotify", "entertainment"},
    {"m_boots", "boots", "Boots", "personal_care"},
    {"m_octopus", "octopus", "Octopus Energy", "bills"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kMcc = {{
    {"5411", "groceries"},     {"5422", "groceries"},     {"5441", "groceries"},     {"5499", "groceries"},
    {"5812", "eating_out"},    {"5813", "eating_out"},    {"5814", "eating_out"},    {"4111", "transport"},
    {"4121", "transport"},     {"4131", "transport"},     {"5541", "transport"},     {"5542", "transport"},
    {"4511", "holidays"},      {"7011", "holidays"},      {"5311", "shopping"},      {"5651", "shopping"},
    {"5732", "shopping"},      {"5999", "shopping"},      {"4900", "bills"},         {"4814", "bills"},
    {"7832", "entertainment"}, {"5815", "entertainment"}, {"5912", "personal_care"}, {"6011", "cash"},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string logoOf(std::string_view id) { return "https://logos.sandbank.local/" + std::string(id.substr(2)) + ".png"; }

// "PRET A MANGER #12" -> "Pret A Manger": words of letters, capitalised; digits and
// store numbers dropped.
std::string tidy(std::string_view name) {
  std::string out;
  bool word_start = true;
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '#' || std::isdigit(u)) break;
    if (std::isalpha(u) || c == '\'' || c == '&') {
      if (word_start && !out.empty()) out += ' ';
      out += static_cast<char>(word_start ? std::toupper(u) : std::tolower(u));
      word_start = false;
    } else {
      word_start = true;
    }
  }
  return out.empty() ? std::string(name) : out;
}

}  // namespace

std::string categoryOfMcc(std::string_view mcc) {
  for (const auto& [code, category] : kMcc) {
    if (code == mcc) return std::string(category);
  }
  return "general";
}

MerchantInfo enrichMerchant(std::string_view merchant_id, std::string_view name, std::string_view mcc) {
  for (const Entry& e : kDirectory) {
    if (!merchant_id.empty() && e.id == merchant_id) {
      return {std::string(e.name), std::string(e.category), logoOf(e.id), true};
    }
  }
  const std::string low = lower(name);
  for (const Entry& e : kDirectory) {
    // The key must be a whole leading word (a plural or possessive "s" allowed):
    // "tesco stores" and "sainsburys s/mkts" match, "tescoville" does not.
    if (low.rfind(e.key, 0) != 0) continue;
    size_t end = e.key.size();
    if (low.compare(end, 2, "'s") == 0) end += 2;
    else if (end < low.size() && low[end] == 's') end += 1;
    if (end == low.size() || !std::isalpha(static_cast<unsigned char>(low[end]))) {
      return {std::string(e.name), std::string(e.category), logoOf(e.id), true};
    }
  }
  return {name.empty() ? std::string("Card payment") : tidy(name), categoryOfMcc(mcc), "", false};
}

}  // namespace sandbank::transaction
