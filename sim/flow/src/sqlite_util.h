// Small RAII helpers over the SQLite C API, private to sim/flow (the recorder writes with
// them, the recording query reads with them). Thread-safety: a connection and its
// statements belong to one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "sandbank/core/status.h"

namespace sandbank::flow::sqlite {

inline Status error(sqlite3* db, std::string_view what) {
  return Internal(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

inline Status exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return Internal(std::string("sqlite: ") + text + " (in: " + std::string(sql).substr(0, 60) + ")");
  }
  return OkStatus();
}

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~Stmt() { sqlite3_finalize(s_); }

  Status prepare(sqlite3* db, std::string_view sql) {
    sqlite3_finalize(s_);
    s_ = nullptr;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &s_, nullptr) != SQLITE_OK)
      return error(db, "prepare");
    return OkStatus();
  }
  sqlite3_stmt* get() const { return s_; }

  // Binds text, or NULL for an empty string. The bytes must outlive the step.
  void text(int i, std::string_view v) {
    if (v.empty())
      sqlite3_bind_null(s_, i);
    else
      sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void i64(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void null(int i) { sqlite3_bind_null(s_, i); }

  std::string colText(int i) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }
  std::string colBlob(int i) const {
    auto* p = static_cast<const char*>(sqlite3_column_blob(s_, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }
  int64_t colI64(int i) const { return sqlite3_column_int64(s_, i); }
  bool colNull(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }

  // Ready for the next step. Bindings stay: every writer binds all parameters each time
  // (clearing them cost a measurable share of the insert rate).
  void reset() { sqlite3_reset(s_); }

 private:
  sqlite3_stmt* s_ = nullptr;
};

}  // namespace sandbank::flow::sqlite
