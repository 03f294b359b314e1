#include "core/drift_redact.hpp"
#include "core/script.hpp"

#include <algorithm>

namespace pgm::drift {
namespace {

// ASCII only, as SQL keywords and the words searched for are: no locale lookup per character
// of every captured statement.
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

struct Span {
  size_t start;
  size_t end;
  std::string replacement;
};

std::string apply(std::string_view text, std::vector<Span> spans) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.start < b.start; });
  std::string out;
  size_t at = 0;
  for (const Span& s : spans) {
    if (s.start < at || s.end > text.size() || s.end < s.start) continue;  // overlapping: keep first
    out.append(text.substr(at, s.start - at));
    out.append(s.replacement);
    at = s.end;
  }
  out.append(text.substr(at));
  return out;
}

// A URI's userinfo password and password-like query parameters.
std::optional<std::string> redact_uri(std::string_view uri) {
  std::string l = lower(uri);
  size_t scheme_end = l.find("://");
  if (scheme_end == std::string::npos) return std::nullopt;
  std::string scheme = l.substr(0, scheme_end);
  if (scheme != "postgresql" && scheme != "postgres") return std::nullopt;
  std::vector<Span> spans;
  size_t authority = scheme_end + 3;
  size_t authority_end = uri.find_first_of("/?", authority);
  if (authority_end == std::string_view::npos) authority_end = uri.size();
  size_t at = uri.rfind('@', authority_end);
  if (at != std::string_view::npos && at >= authority) {
    size_t colon = uri.find(':', authority);
    if (colon != std::string_view::npos && colon < at) spans.push_back({colon + 1, at, kRedacted});
  }
  size_t query = uri.find('?', authority);
  while (query != std::string_view::npos && query < uri.size()) {
    size_t key_start = query + 1;
    size_t eq = uri.find('=', key_start);
    size_t amp = uri.find('&', key_start);
    if (eq == std::string_view::npos || (amp != std::string_view::npos && amp < eq)) {
      query = amp;
      continue;
    }
    size_t value_end = amp == std::string_view::npos ? uri.size() : amp;
    if (password_like(uri.substr(key_start, eq - key_start))) spans.push_back({eq + 1, value_end, kRedacted});
    query = amp;
  }
  if (spans.empty()) return std::nullopt;
  return apply(uri, spans);
}

}  // namespace

bool password_like(std::string_view option_name) {
  std::string n = lower(option_name);
  for (std::string_view w : {"password", "passwd", "pwd", "secret", "token", "credential", "passphrase", "apikey",
                             "api_key"})
    if (contains(n, w)) return true;
  return false;
}

bool may_carry_credentials(std::string_view text) {
  // Most statements carry none of these. A backslash and "u&": escapes may spell any of them
  // (U&"pass\0077ord", E'\x70assword').
  static const CaseInsensitiveWords words{"passw", "pwd",     "secret",     "token",   "credential", "passphrase", "apikey",
                                          "api_key", "connection", "mapping", "://",  "u&",         "\\"};
  return words.found_in(text);
}

std::optional<std::string> redact_conninfo(std::string_view conninfo) {
  size_t first = 0;
  while (first < conninfo.size() && is_space(conninfo[first])) ++first;
  if (conninfo.substr(first).find("://") != std::string_view::npos &&
      (lower(conninfo.substr(first, 11)) == "postgresql:" || lower(conninfo.substr(first, 9)) == "postgres:"))
    return redact_uri(conninfo);
  // keyword = value pairs, as libpq's conninfo_parse reads them.
  std::vector<Span> spans;
  size_t i = 0, n = conninfo.size();
  bool any = false;
  while (true) {
    while (i < n && is_space(conninfo[i])) ++i;
    if (i >= n) break;
    size_t key_start = i;
    while (i < n && conninfo[i] != '=' && !is_space(conninfo[i])) ++i;
    std::string_view key = conninfo.substr(key_start, i - key_start);
    if (key.empty()) return std::nullopt;
    for (char c : key)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return std::nullopt;
    while (i < n && is_space(conninfo[i])) ++i;
    if (i >= n || conninfo[i] != '=') return std::nullopt;
    ++i;
    while (i < n && is_space(conninfo[i])) ++i;
    size_t value_start = i;
    if (i < n && conninfo[i] == '\'') {
      ++i;
      while (i < n && conninfo[i] != '\'') {
        if (conninfo[i] == '\\' && i + 1 < n) ++i;
        ++i;
      }
      if (i >= n) {  // unterminated: libpq refuses it, but a password in it is still a secret
        if (!password_like(key)) return std::nullopt;
        spans.push_back({value_start, n, kRedacted});
        return apply(conninfo, spans);
      }
      ++i;
    } else {
      while (i < n && !is_space(conninfo[i])) {
        if (conninfo[i] == '\\' && i + 1 < n) ++i;
        ++i;
      }
    }
    any = true;
    if (password_like(key)) spans.push_back({value_start, i, kRedacted});
  }
  if (!any || spans.empty()) return std::nullopt;
  return apply(conninfo, spans);
}

size_t literal_end(std::string_view text, size_t start, bool backslash_escapes) {
  size_t i = start, n = text.size();
  if (i >= n) return std::string_view::npos;
  if (text[i] == '$') {
    size_t tag_end = text.find('$', i + 1);
    if (tag_end == std::string_view::npos) return std::string_view::npos;
    std::string_view tag = text.substr(i, tag_end - i + 1);
    size_t close = text.find(tag, tag_end + 1);
    return close == std::string_view::npos ? close : close + tag.size();
  }
  bool escapes = backslash_escapes;
  char c = ascii_lower(text[i]);
  if (c == 'e') {
    escapes = true;
    ++i;
  } else if (c == 'u' && i + 1 < n && text[i + 1] == '&') {
    escapes = false;
    i += 2;
  } else if (c == 'n' || c == 'b' || c == 'x') {
    ++i;
  }
  if (i >= n || text[i] != '\'') return std::string_view::npos;
  while (true) {
    ++i;  // past the opening quote
    while (i < n) {
      if (escapes && text[i] == '\\') {
        i += 2;
        continue;
      }
      if (text[i] == '\'') {
        if (i + 1 < n && text[i + 1] == '\'') {
          i += 2;
          continue;
        }
        break;
      }
      ++i;
    }
    if (i >= n) return std::string_view::npos;
    size_t end = i + 1;
    // 'a'<white space with a newline>'b' continues the literal.
    size_t j = end;
    bool newline = false;
    while (j < n && is_space(text[j])) {
      if (text[j] == '\n' || text[j] == '\r') newline = true;
      ++j;
    }
    if (newline && j < n && text[j] == '\'') {
      i = j;
      continue;
    }
    return end;
  }
}

std::string requote_literal(std::string_view original, std::string_view value) {
  if (!original.empty() && original[0] == '$') {
    size_t tag_end = original.find('$', 1);
    std::string tag(original.substr(0, tag_end == std::string_view::npos ? 1 : tag_end + 1));
    if (value.find(tag) == std::string_view::npos) return tag + std::string(value) + tag;
  }
  bool backslash = value.find('\\') != std::string_view::npos;
  std::string out = backslash ? "E'" : "'";
  for (char c : value) {
    if (c == '\'') out += "''";
    else if (c == '\\') out += "\\\\";
    else out += c;
  }
  out += '\'';
  return out;
}

std::string redact_credentials(std::string_view sql, const SqlTokenizer& tokenize, bool backslash_escapes,
                               int depth) {
  if (!may_carry_credentials(sql)) return std::string(sql);
  // Bodies nested deeper than this are not scanned: the whole body is redacted instead (it
  // may hold a credential, and a statement is never recorded with one).
  constexpr int kMaxDepth = 8;
  if (depth > kMaxDepth) return std::string(kRedacted) + " (SQL nested more than 8 levels deep)";
  std::optional<std::vector<SqlToken>> scanned = tokenize(sql);
  // A statement that may carry a credential and does not scan is not recorded (a nested
  // literal that does not scan is no SQL, and stays).
  if (!scanned) return depth == 0 ? std::string(kNotScanned) : std::string(sql);
  const std::vector<SqlToken>& t = *scanned;
  std::vector<Span> spans;
  std::vector<bool> done(t.size(), false);
  auto redact_literal = [&](size_t k) {
    size_t end = literal_end(sql, t[k].start, backslash_escapes);
    if (end == std::string_view::npos) return;
    spans.push_back({t[k].start, end, std::string("'") + kRedacted + "'"});
    done[k] = true;
  };
  bool user_mapping = false;  // in a statement about a USER MAPPING
  for (size_t k = 0; k < t.size(); ++k) {
    const SqlToken& tok = t[k];
    if (tok.kind == SqlToken::kOther && tok.punct == ';') {
      user_mapping = false;
      continue;
    }
    if (tok.kind != SqlToken::kWord) continue;
    bool next_is_string = k + 1 < t.size() && t[k + 1].kind == SqlToken::kString;
    if (tok.text == "mapping" && k > 0 && t[k - 1].kind == SqlToken::kWord && t[k - 1].text == "user") {
      user_mapping = true;
    } else if ((tok.text == "password" || tok.text == "connection") && next_is_string && !done[k + 1]) {
      redact_literal(k + 1);
    } else if (tok.text == "options" && k + 1 < t.size() && t[k + 1].kind == SqlToken::kOther &&
               t[k + 1].punct == '(') {
      // OPTIONS ( [ADD|SET|DROP] name ['value'] [, ...] )
      size_t j = k + 2;
      while (j < t.size() && !(t[j].kind == SqlToken::kOther && t[j].punct == ')')) {
        size_t name = j;
        if (t[j].kind == SqlToken::kWord && (t[j].text == "add" || t[j].text == "set" || t[j].text == "drop") &&
            j + 1 < t.size() && t[j + 1].kind == SqlToken::kWord)
          name = j + 1;
        size_t value = name + 1;
        if (t[name].kind == SqlToken::kWord && value < t.size() && t[value].kind == SqlToken::kString &&
            !done[value] && (user_mapping || password_like(t[name].text)))
          redact_literal(value);
        while (j < t.size() && !(t[j].kind == SqlToken::kOther && (t[j].punct == ',' || t[j].punct == ')'))) ++j;
        if (j < t.size() && t[j].punct == ',') ++j;
      }
    }
  }
  // Every other literal: a connection string with a password, or SQL to redact recursively.
  for (size_t k = 0; k < t.size(); ++k) {
    if (t[k].kind != SqlToken::kString || done[k]) continue;
    const std::string& value = t[k].text;
    if (!may_carry_credentials(value)) continue;
    size_t end = literal_end(sql, t[k].start, backslash_escapes);
    if (end == std::string_view::npos) continue;
    std::string_view original = sql.substr(t[k].start, end - t[k].start);
    std::optional<std::string> redacted = redact_conninfo(value);
    if (!redacted) {
      std::string inner = redact_credentials(value, tokenize, backslash_escapes, depth + 1);
      if (inner != value) redacted = std::move(inner);
    }
    if (redacted) spans.push_back({t[k].start, end, requote_literal(original, *redacted)});
  }
  if (spans.empty()) return std::string(sql);
  return apply(sql, std::move(spans));
}

}  // namespace pgm::drift

#include "core/no_pg.hpp"
