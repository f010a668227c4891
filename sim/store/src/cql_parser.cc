// A lexer and recursive descent parser for the store's CQL subset. Each token remembers
// its line and column so errors can say where and what was expected.
// Thread-safety: pure functions.
#include <cctype>

#include "sandbank/store/cql.h"
#include "sandbank/store/errors.h"

namespace sandbank::store::cql {
namespace {

enum class Tok { kIdent, kQuotedIdent, kString, kInteger, kFloat, kBlob, kUuid, kSymbol, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;   // identifier (lowercased unless quoted), literal text, symbol
  std::string upper;  // uppercase form of identifiers, for keyword matching
  Position pos;
};

bool isHexChar(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

bool looksLikeUuid(std::string_view s, size_t i) {
  if (i + 36 > s.size()) return false;
  for (size_t k = 0; k < 36; ++k) {
    char c = s[i + k];
    bool dash = k == 8 || k == 13 || k == 18 || k == 23;
    if (dash ? c != '-' : !isHexChar(c)) return false;
  }
  return i + 36 == s.size() || !(std::isalnum(static_cast<unsigned char>(s[i + 36])) || s[i + 36] == '_');
}

Result<std::vector<Token>> lex(std::string_view s) {
  std::vector<Token> out;
  int line = 1, col = 1;
  size_t i = 0;
  auto advance = [&](size_t n) {
    for (size_t k = 0; k < n && i < s.size(); ++k, ++i) {
      if (s[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
  };
  auto err = [&](const std::string& what) {
    return storeError(StoreError::kSyntaxError, "line " + std::to_string(line) + ":" + std::to_string(col) + " " + what);
  };
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      advance(1);
      continue;
    }
    if ((c == '-' && i + 1 < s.size() && s[i + 1] == '-') || (c == '/' && i + 1 < s.size() && s[i + 1] == '/')) {
      while (i < s.size() && s[i] != '\n') advance(1);
      continue;
    }
    Token t;
    t.pos = {line, col};
    if (looksLikeUuid(s, i)) {
      t.kind = Tok::kUuid;
      t.text = std::string(s.substr(i, 36));
      advance(36);
    } else if (c == '0' && i + 1 < s.size() && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
      size_t j = i + 2;
      while (j < s.size() && isHexChar(s[j])) ++j;
      if ((j - i - 2) % 2 != 0) return err("blob constant 0x... needs an even number of hex digits");
      t.kind = Tok::kBlob;
      t.text = std::string(s.substr(i + 2, j - i - 2));
      advance(j - i);
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      t.kind = Tok::kInteger;
      if (j + 1 < s.size() && s[j] == '.' && std::isdigit(static_cast<unsigned char>(s[j + 1]))) {
        ++j;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        t.kind = Tok::kFloat;
      }
      if (j < s.size() && (std::isalpha(static_cast<unsigned char>(s[j])) || s[j] == '_')) {
        advance(j - i);
        return err("unexpected character '" + std::string(1, s[j]) + "' after a number");
      }
      t.text = std::string(s.substr(i, j - i));
      advance(j - i);
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      t.kind = Tok::kIdent;
      t.text = std::string(s.substr(i, j - i));
      for (char& ch : t.text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      t.upper = t.text;
      for (char& ch : t.upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      advance(j - i);
    } else if (c == '\'' || c == '"') {
      const char q = c;
      std::string text;
      advance(1);
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == q) {
          if (i + 1 < s.size() && s[i + 1] == q) {
            text += q;
            advance(2);
            continue;
          }
          advance(1);
          closed = true;
          break;
        }
        text += s[i];
        advance(1);
      }
      if (!closed) {
        return storeError(StoreError::kSyntaxError, "line " + std::to_string(t.pos.line) + ":" + std::to_string(t.pos.column) +
                                                        " unterminated " + (q == '\'' ? "string" : "quoted identifier"));
      }
      t.kind = q == '\'' ? Tok::kString : Tok::kQuotedIdent;
      t.text = std::move(text);
      t.upper = t.text;
    } else {
      static const char* kTwo[] = {"<=", ">=", "!="};
      t.kind = Tok::kSymbol;
      bool two = false;
      for (const char* op : kTwo) {
        if (s.substr(i, 2) == op) {
          t.text = op;
          two = true;
        }
      }
      if (!two) {
        if (std::string_view("(),;.=<>?*{}:-+[]").find(c) == std::string_view::npos) {
          return err("unexpected character '" + std::string(1, c) + "'");
        }
        t.text = std::string(1, c);
      }
      advance(t.text.size());
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.pos = {line, col};
  out.push_back(end);
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Result<Parsed> parse() {
    Result<Statement> st = statement();
    if (!st.ok()) return st.status();
    acceptSymbol(";");
    if (peek().kind != Tok::kEnd) return expected("end of statement");
    return Parsed{std::move(st).value(), binds_};
  }

 private:
  const Token& peek(size_t ahead = 0) const { return t_[std::min(pos_ + ahead, t_.size() - 1)]; }
  const Token& next() {
    const Token& t = t_[pos_];
    if (pos_ + 1 < t_.size()) ++pos_;
    return t;
  }
  bool isKeyword(std::string_view kw, size_t ahead = 0) const {
    return peek(ahead).kind == Tok::kIdent && peek(ahead).upper == kw;
  }
  bool acceptKeyword(std::string_view kw) {
    if (!isKeyword(kw)) return false;
    next();
    return true;
  }
  bool isSymbol(std::string_view s) const { return peek().kind == Tok::kSymbol && peek().text == s; }
  bool acceptSymbol(std::string_view s) {
    if (!isSymbol(s)) return false;
    next();
    return true;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd: return "end of input";
      case Tok::kString: return "'" + t.text + "'";
      case Tok::kQuotedIdent: return "\"" + t.text + "\"";
      case Tok::kBlob: return "0x" + t.text;
      default: return "'" + (t.kind == Tok::kIdent ? t.upper : t.text) + "'";
    }
  }
  Status expected(std::string_view what) const {
    const Token& t = peek();
    return storeError(StoreError::kSyntaxError, "line " + std::to_string(t.pos.line) + ":" + std::to_string(t.pos.column) +
                                                    " expected " + std::string(what) + ", found " + describe(t));
  }
  Status expectKeyword(std::string_view kw) {
    if (acceptKeyword(kw)) return OkStatus();
    return expected(std::string(kw));
  }
  Status expectSymbol(std::string_view s) {
    if (acceptSymbol(s)) return OkStatus();
    return expected("'" + std::string(s) + "'");
  }

  Result<std::string> identifier(std::string_view what = "an identifier") {
    const Token& t = peek();
    if (t.kind != Tok::kIdent && t.kind != Tok::kQuotedIdent) return expected(what);
    next();
    return t.text;
  }

  Result<TableName> tableName() {
    TableName n;
    n.pos = peek().pos;
    SANDBANK_ASSIGN_OR_RETURN(std::string first, identifier("a table name"));
    if (acceptSymbol(".")) {
      n.keyspace = first;
      SANDBANK_ASSIGN_OR_RETURN(n.name, identifier("a table name"));
    } else {
      n.name = first;
    }
    return n;
  }

  Result<Term> term() {
    Term t;
    t.pos = peek().pos;
    const Token& tok = peek();
    if (acceptSymbol("?")) {
      t.is_bind = true;
      t.bind_index = binds_++;
      return t;
    }
    bool negative = false;
    if (isSymbol("-") && (peek(1).kind == Tok::kInteger || peek(1).kind == Tok::kFloat)) {
      next();
      negative = true;
    }
    const Token& v = peek();
    switch (v.kind) {
      case Tok::kString: t.literal = Value::text(v.text); break;
      case Tok::kUuid: t.literal = Value::text(v.text); break;
      case Tok::kInteger: {
        errno = 0;
        char* end = nullptr;
        long long x = std::strtoll(v.text.c_str(), &end, 10);
        if (errno == ERANGE) return expected("an integer that fits in 64 bits");
        t.literal = Value::integer(negative ? -x : x);
        break;
      }
      case Tok::kFloat: t.literal = Value::decimal((negative ? "-" : "") + v.text); break;
      case Tok::kBlob: {
        std::string bytes;
        for (size_t i = 0; i + 1 < v.text.size(); i += 2) {
          bytes.push_back(static_cast<char>(std::stoi(v.text.substr(i, 2), nullptr, 16)));
        }
        t.literal = Value::bytes(std::move(bytes));
        break;
      }
      case Tok::kIdent:
        if (v.upper == "TRUE" || v.upper == "FALSE") {
          t.literal = Value::boolean(v.upper == "TRUE");
          break;
        }
        if (v.upper == "NULL") {
          t.literal = Value::null();
          break;
        }
        return expected("a value or '?'");
      default:
        (void)tok;
        return expected("a value or '?'");
    }
    next();
    return t;
  }

  Result<UsingClause> usingClause() {
    UsingClause u;
    do {
      if (acceptKeyword("TTL")) {
        SANDBANK_ASSIGN_OR_RETURN(Term t, term());
        u.ttl = t;
      } else if (acceptKeyword("TIMESTAMP")) {
        SANDBANK_ASSIGN_OR_RETURN(Term t, term());
        u.timestamp = t;
      } else {
        return expected("TTL or TIMESTAMP");
      }
    } while (acceptKeyword("AND"));
    return u;
  }

  Result<std::vector<Relation>> relations() {
    std::vector<Relation> out;
    do {
      Relation r;
      r.pos = peek().pos;
      SANDBANK_ASSIGN_OR_RETURN(r.column, identifier("a column name"));
      const Token& op = peek();
      if (op.kind != Tok::kSymbol || (op.text != "=" && op.text != "<" && op.text != "<=" && op.text != ">" && op.text != ">=")) {
        return expected("one of = < <= > >=");
      }
      r.op = op.text;
      next();
      SANDBANK_ASSIGN_OR_RETURN(r.term, term());
      out.push_back(std::move(r));
    } while (acceptKeyword("AND"));
    return out;
  }

  // IF EXISTS | IF NOT EXISTS (inserts) | IF col = v AND ...
  Status conditions(std::vector<Relation>* conds, bool* if_exists) {
    if (acceptKeyword("EXISTS")) {
      *if_exists = true;
      return OkStatus();
    }
    SANDBANK_ASSIGN_OR_RETURN(*conds, relations());
    for (const Relation& r : *conds) {
      if (r.op != "=") {
        return storeError(StoreError::kSyntaxError, "line " + std::to_string(r.pos.line) + ":" + std::to_string(r.pos.column) +
                                                        " only '=' conditions are supported in IF");
      }
    }
    return OkStatus();
  }

  Result<Statement> statement() {
    if (acceptKeyword("INSERT")) return wrap(insert());
    if (acceptKeyword("UPDATE")) return wrap(update());
    if (acceptKeyword("DELETE")) return wrap(del());
    if (acceptKeyword("SELECT")) return wrap(select());
    if (acceptKeyword("BEGIN")) return wrap(batch());
    if (acceptKeyword("CREATE")) {
      if (acceptKeyword("KEYSPACE")) return wrap(createKeyspace());
      if (acceptKeyword("TABLE") || acceptKeyword("COLUMNFAMILY")) return wrap(createTable());
      return expected("KEYSPACE or TABLE");
    }
    if (acceptKeyword("DROP")) {
      if (acceptKeyword("KEYSPACE")) {
        DropKeyspace d;
        if (acceptKeyword("IF")) {
          SANDBANK_RETURN_IF_ERROR(expectKeyword("EXISTS"));
          d.if_exists = true;
        }
        SANDBANK_ASSIGN_OR_RETURN(d.name, identifier("a keyspace name"));
        return Statement(d);
      }
      if (acceptKeyword("TABLE")) {
        DropTable d;
        if (acceptKeyword("IF")) {
          SANDBANK_RETURN_IF_ERROR(expectKeyword("EXISTS"));
          d.if_exists = true;
        }
        SANDBANK_ASSIGN_OR_RETURN(d.table, tableName());
        return Statement(d);
      }
      return expected("KEYSPACE or TABLE");
    }
    if (acceptKeyword("TRUNCATE")) {
      acceptKeyword("TABLE");
      Truncate tr;
      SANDBANK_ASSIGN_OR_RETURN(tr.table, tableName());
      return Statement(tr);
    }
    if (acceptKeyword("USE")) {
      Use u;
      SANDBANK_ASSIGN_OR_RETURN(u.keyspace, identifier("a keyspace name"));
      return Statement(u);
    }
    return expected("a statement (SELECT, INSERT, UPDATE, DELETE, BEGIN BATCH, CREATE, DROP, TRUNCATE, USE)");
  }

  template <class T>
  static Result<Statement> wrap(Result<T> r) {
    if (!r.ok()) return r.status();
    return Statement(std::move(r).value());
  }

  Result<Insert> insert() {
    Insert ins;
    SANDBANK_RETURN_IF_ERROR(expectKeyword("INTO"));
    SANDBANK_ASSIGN_OR_RETURN(ins.table, tableName());
    SANDBANK_RETURN_IF_ERROR(expectSymbol("("));
    do {
      ins.column_pos.push_back(peek().pos);
      SANDBANK_ASSIGN_OR_RETURN(std::string c, identifier("a column name"));
      ins.columns.push_back(std::move(c));
    } while (acceptSymbol(","));
    SANDBANK_RETURN_IF_ERROR(expectSymbol(")"));
    SANDBANK_RETURN_IF_ERROR(expectKeyword("VALUES"));
    SANDBANK_RETURN_IF_ERROR(expectSymbol("("));
    do {
      SANDBANK_ASSIGN_OR_RETURN(Term t, term());
      ins.values.push_back(std::move(t));
    } while (acceptSymbol(","));
    SANDBANK_RETURN_IF_ERROR(expectSymbol(")"));
    if (ins.values.size() != ins.columns.size()) {
      return storeError(StoreError::kInvalidQuery, "Unmatched column names/values: " + std::to_string(ins.columns.size()) +
                                                       " columns but " + std::to_string(ins.values.size()) + " values");
    }
    for (int round = 0; round < 2; ++round) {
      if (acceptKeyword("IF")) {
        SANDBANK_RETURN_IF_ERROR(expectKeyword("NOT"));
        SANDBANK_RETURN_IF_ERROR(expectKeyword("EXISTS"));
        ins.if_not_exists = true;
      } else if (acceptKeyword("USING")) {
        SANDBANK_ASSIGN_OR_RETURN(ins.using_, usingClause());
      }
    }
    return ins;
  }

  Result<Update> update() {
    Update up;
    SANDBANK_ASSIGN_OR_RETURN(up.table, tableName());
    if (acceptKeyword("USING")) {
      SANDBANK_ASSIGN_OR_RETURN(up.using_, usingClause());
    }
    SANDBANK_RETURN_IF_ERROR(expectKeyword("SET"));
    do {
      Assignment a;
      a.pos = peek().pos;
      SANDBANK_ASSIGN_OR_RETURN(a.column, identifier("a column name"));
      SANDBANK_RETURN_IF_ERROR(expectSymbol("="));
      SANDBANK_ASSIGN_OR_RETURN(a.term, term());
      up.set.push_back(std::move(a));
    } while (acceptSymbol(","));
    SANDBANK_RETURN_IF_ERROR(expectKeyword("WHERE"));
    SANDBANK_ASSIGN_OR_RETURN(up.where, relations());
    if (acceptKeyword("IF")) SANDBANK_RETURN_IF_ERROR(conditions(&up.conditions, &up.if_exists));
    return up;
  }

  Result<Delete> del() {
    Delete d;
    if (!isKeyword("FROM")) {
      do {
        SANDBANK_ASSIGN_OR_RETURN(std::string c, identifier("a column name or FROM"));
        d.columns.push_back(std::move(c));
      } while (acceptSymbol(","));
    }
    SANDBANK_RETURN_IF_ERROR(expectKeyword("FROM"));
    SANDBANK_ASSIGN_OR_RETURN(d.table, tableName());
    if (acceptKeyword("USING")) {
      SANDBANK_ASSIGN_OR_RETURN(d.using_, usingClause());
      if (d.using_.ttl) return storeError(StoreError::kInvalidQuery, "DELETE does not accept USING TTL");
    }
    SANDBANK_RETURN_IF_ERROR(expectKeyword("WHERE"));
    SANDBANK_ASSIGN_OR_RETURN(d.where, relations());
    if (acceptKeyword("IF")) SANDBANK_RETURN_IF_ERROR(conditions(&d.conditions, &d.if_exists));
    return d;
  }

  Result<Select> select() {
    Select s;
    if (!acceptSymbol("*")) {
      do {
        s.column_pos.push_back(peek().pos);
        SANDBANK_ASSIGN_OR_RETURN(std::string c, identifier("a column name or '*'"));
        s.columns.push_back(std::move(c));
      } while (acceptSymbol(","));
    }
    SANDBANK_RETURN_IF_ERROR(expectKeyword("FROM"));
    SANDBANK_ASSIGN_OR_RETURN(s.table, tableName());
    if (acceptKeyword("WHERE")) {
      SANDBANK_ASSIGN_OR_RETURN(s.where, relations());
    }
    if (acceptKeyword("ORDER")) {
      SANDBANK_RETURN_IF_ERROR(expectKeyword("BY"));
      SANDBANK_ASSIGN_OR_RETURN(std::string c, identifier("a clustering column"));
      bool desc = false;
      if (acceptKeyword("DESC")) desc = true;
      else acceptKeyword("ASC");
      s.order_by = std::make_pair(c, desc);
    }
    if (acceptKeyword("LIMIT")) {
      SANDBANK_ASSIGN_OR_RETURN(Term t, term());
      s.limit = t;
    }
    if (acceptKeyword("ALLOW")) SANDBANK_RETURN_IF_ERROR(expectKeyword("FILTERING"));
    return s;
  }

  Result<Batch> batch() {
    Batch b;
    if (!acceptKeyword("UNLOGGED")) acceptKeyword("LOGGED");
    SANDBANK_RETURN_IF_ERROR(expectKeyword("BATCH"));
    if (acceptKeyword("USING")) {
      SANDBANK_ASSIGN_OR_RETURN(b.using_, usingClause());
      if (b.using_.ttl) return storeError(StoreError::kInvalidQuery, "a BATCH accepts only USING TIMESTAMP");
    }
    while (!isKeyword("APPLY")) {
      if (acceptKeyword("INSERT")) {
        SANDBANK_ASSIGN_OR_RETURN(Insert i, insert());
        b.statements.emplace_back(std::move(i));
      } else if (acceptKeyword("UPDATE")) {
        SANDBANK_ASSIGN_OR_RETURN(Update u, update());
        b.statements.emplace_back(std::move(u));
      } else if (acceptKeyword("DELETE")) {
        SANDBANK_ASSIGN_OR_RETURN(Delete d, del());
        b.statements.emplace_back(std::move(d));
      } else {
        return expected("INSERT, UPDATE, DELETE or APPLY BATCH");
      }
      acceptSymbol(";");
    }
    next();  // APPLY
    SANDBANK_RETURN_IF_ERROR(expectKeyword("BATCH"));
    return b;
  }

  Result<std::map<std::string, std::string>> mapLiteral() {
    std::map<std::string, std::string> m;
    SANDBANK_RETURN_IF_ERROR(expectSymbol("{"));
    if (acceptSymbol("}")) return m;
    do {
      if (peek().kind != Tok::kString) return expected("a quoted option name");
      std::string k = next().text;
      SANDBANK_RETURN_IF_ERROR(expectSymbol(":"));
      const Token& v = peek();
      if (v.kind != Tok::kString && v.kind != Tok::kInteger && v.kind != Tok::kIdent) return expected("an option value");
      m[k] = next().text;
    } while (acceptSymbol(","));
    SANDBANK_RETURN_IF_ERROR(expectSymbol("}"));
    return m;
  }

  Result<CreateKeyspace> createKeyspace() {
    CreateKeyspace c;
    if (acceptKeyword("IF")) {
      SANDBANK_RETURN_IF_ERROR(expectKeyword("NOT"));
      SANDBANK_RETURN_IF_ERROR(expectKeyword("EXISTS"));
      c.if_not_exists = true;
    }
    SANDBANK_ASSIGN_OR_RETURN(c.name, identifier("a keyspace name"));
    SANDBANK_RETURN_IF_ERROR(expectKeyword("WITH"));
    do {
      if (acceptKeyword("REPLICATION")) {
        SANDBANK_RETURN_IF_ERROR(expectSymbol("="));
        SANDBANK_ASSIGN_OR_RETURN(c.replication, mapLiteral());
      } else if (acceptKeyword("DURABLE_WRITES")) {
        SANDBANK_RETURN_IF_ERROR(expectSymbol("="));
        if (!acceptKeyword("TRUE") && !acceptKeyword("FALSE")) return expected("true or false");
      } else {
        return expected("REPLICATION or DURABLE_WRITES");
      }
    } while (acceptKeyword("AND"));
    return c;
  }

  Result<CreateTable> createTable() {
    CreateTable c;
    if (acceptKeyword("IF")) {
      SANDBANK_RETURN_IF_ERROR(expectKeyword("NOT"));
      SANDBANK_RETURN_IF_ERROR(expectKeyword("EXISTS"));
      c.if_not_exists = true;
    }
    SANDBANK_ASSIGN_OR_RETURN(c.table, tableName());
    SANDBANK_RETURN_IF_ERROR(expectSymbol("("));
    do {
      if (isKeyword("PRIMARY") && isKeyword("KEY", 1)) {
        next();
        next();
        if (!c.partition_key.empty()) return expected("a single PRIMARY KEY definition");
        SANDBANK_RETURN_IF_ERROR(expectSymbol("("));
        if (acceptSymbol("(")) {
          do {
            SANDBANK_ASSIGN_OR_RETURN(std::string k, identifier("a partition key column"));
            c.partition_key.push_back(std::move(k));
          } while (acceptSymbol(","));
          SANDBANK_RETURN_IF_ERROR(expectSymbol(")"));
        } else {
          SANDBANK_ASSIGN_OR_RETURN(std::string k, identifier("a partition key column"));
          c.partition_key.push_back(std::move(k));
        }
        while (acceptSymbol(",")) {
          SANDBANK_ASSIGN_OR_RETURN(std::string k, identifier("a clustering column"));
          c.clustering.push_back(std::move(k));
        }
        SANDBANK_RETURN_IF_ERROR(expectSymbol(")"));
        continue;
      }
      ColumnSpec col;
      col.pos = peek().pos;
      SANDBANK_ASSIGN_OR_RETURN(col.name, identifier("a column definition or PRIMARY KEY"));
      col.pos = peek().pos;
      SANDBANK_ASSIGN_OR_RETURN(col.type, identifier("a column type"));
      if (acceptKeyword("PRIMARY")) {
        SANDBANK_RETURN_IF_ERROR(expectKeyword("KEY"));
        if (!c.partition_key.empty()) return expected("a single PRIMARY KEY definition");
        c.partition_key.push_back(col.name);
      }
      c.columns.push_back(std::move(col));
    } while (acceptSymbol(","));
    SANDBANK_RETURN_IF_ERROR(expectSymbol(")"));
    if (acceptKeyword("WITH")) {
      do {
        if (acceptKeyword("CLUSTERING")) {
          SANDBANK_RETURN_IF_ERROR(expectKeyword("ORDER"));
          SANDBANK_RETURN_IF_ERROR(expectKeyword("BY"));
          SANDBANK_RETURN_IF_ERROR(expectSymbol("("));
          do {
            SANDBANK_ASSIGN_OR_RETURN(std::string k, identifier("a clustering column"));
            bool desc = false;
            if (acceptKeyword("DESC")) desc = true;
            else if (!acceptKeyword("ASC")) return expected("ASC or DESC");
            c.clustering_order.emplace_back(std::move(k), desc);
          } while (acceptSymbol(","));
          SANDBANK_RETURN_IF_ERROR(expectSymbol(")"));
          continue;
        }
        SANDBANK_ASSIGN_OR_RETURN(std::string opt, identifier("a table option"));
        SANDBANK_RETURN_IF_ERROR(expectSymbol("="));
        if (isSymbol("{")) {
          SANDBANK_ASSIGN_OR_RETURN(auto m, mapLiteral());
          (void)m;
          c.options[opt] = "{...}";
        } else {
          const Token& v = peek();
          if (v.kind != Tok::kString && v.kind != Tok::kInteger && v.kind != Tok::kFloat && v.kind != Tok::kIdent) {
            return expected("an option value");
          }
          c.options[opt] = next().text;
        }
      } while (acceptKeyword("AND"));
    }
    return c;
  }

  std::vector<Token> t_;
  size_t pos_ = 0;
  int binds_ = 0;
};

}  // namespace

Result<Parsed> parseCql(std::string_view text) {
  SANDBANK_ASSIGN_OR_RETURN(std::vector<Token> toks, lex(text));
  Parser p(std::move(toks));
  return p.parse();
}

}  // namespace sandbank::store::cql
