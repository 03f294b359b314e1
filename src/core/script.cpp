#include "core/script.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace pgm {

size_t skip_blanks_and_comments(std::string_view sql, size_t i) {
  const size_t n = sql.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(sql[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n' && sql[i] != '\r') ++i;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      // PostgreSQL block comments nest.
      int depth = 0;
      do {
        if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/') {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      } while (i < n && depth > 0);
    } else {
      break;
    }
  }
  return i < n ? i : n;
}

int line_at(std::string_view sql, size_t offset) {
  return LineCounter(sql).line_at(offset);
}

namespace {

// Line breaks in [from, to): "\n", "\r\n" (counted at its "\n") or a lone "\r", as
// PostgreSQL's scanner ends a line.
int breaks(std::string_view sql, size_t from, size_t to) {
  int n = 0;
  for (size_t i = from; i < to; ++i)
    n += sql[i] == '\n' || (sql[i] == '\r' && (i + 1 >= sql.size() || sql[i + 1] != '\n'));
  return n;
}

}  // namespace

int LineCounter::line_at(size_t offset) {
  offset = std::min(offset, sql_.size());
  if (offset >= pos_) line_ += breaks(sql_, pos_, offset);
  else line_ -= breaks(sql_, offset, pos_);
  pos_ = offset;
  return line_;
}

size_t line_start(std::string_view sql, size_t offset) {
  offset = std::min(offset, sql.size());
  if (offset == 0) return 0;
  size_t prev = sql.find_last_of("\r\n", offset - 1);
  return prev == std::string_view::npos ? 0 : prev + 1;
}

size_t line_end(std::string_view sql, size_t offset) {
  size_t next = sql.find_first_of("\r\n", std::min(offset, sql.size()));
  return next == std::string_view::npos ? sql.size() : next;
}

std::string one_line_preview(std::string_view statement, size_t max_chars) {
  std::string out;
  bool pending_space = false;
  for (char ch : statement) {
    if (std::isspace(static_cast<unsigned char>(ch))) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += ch;
  }
  if (out.size() > max_chars) {
    size_t cut = max_chars;
    // Do not cut inside a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

std::string to_hex(const unsigned char* bytes, size_t length) {
  static const char digits[] = "0123456789abcdef";
  std::string out(length * 2, '0');
  for (size_t i = 0; i < length; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0xF];
  }
  return out;
}

bool is_psql_meta_command_at(std::string_view sql, size_t offset) {
  if (offset >= sql.size()) return false;
  size_t i = line_start(sql, offset);
  while (i < sql.size() && (sql[i] == ' ' || sql[i] == '\t')) ++i;
  return i < sql.size() && sql[i] == '\\';
}

std::optional<int> do_block_failed_line(std::string_view error_context, std::string_view statement) {
  static constexpr std::string_view kMarker = "PL/pgSQL function inline_code_block line ";
  std::string frame = "SQL statement \"" + std::string(statement) + "\"";
  size_t own = error_context.find(frame);
  if (own == std::string_view::npos) return std::nullopt;
  // The block's own line is the last one before its frame: deeper ones (a DO it runs) come first.
  size_t at = error_context.substr(0, own).rfind(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  size_t i = at + kMarker.size();
  int line = 0;
  size_t digits = 0;
  for (; i < error_context.size() && std::isdigit(static_cast<unsigned char>(error_context[i])) && digits < 9; ++i, ++digits)
    line = line * 10 + (error_context[i] - '0');
  if (digits == 0 || line < 1) return std::nullopt;
  return line;
}

std::optional<std::string> without_dump_restrict_lines(std::string_view sql) {
  if (sql.find("restrict ") == std::string_view::npos) return std::nullopt;
  std::optional<std::string> out;
  size_t start = 0;
  while (start < sql.size()) {
    size_t end = sql.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = sql.size();
    std::string_view line = sql.substr(start, end - start);
    size_t i = line.find_first_not_of(" \t");
    if (i != std::string_view::npos) {
      std::string_view t = line.substr(i);
      for (std::string_view command : {std::string_view("\\restrict "), std::string_view("\\unrestrict ")}) {
        if (t.substr(0, command.size()) != command) continue;
        std::string_view key = t.substr(command.size());
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
        // One word of letters and digits, as pg_dump writes it.
        bool one_word = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c));
        });
        if (!one_word) continue;
        if (!out) out.emplace(sql);
        std::fill(out->begin() + static_cast<long>(start), out->begin() + static_cast<long>(end), ' ');
      }
    }
    start = end + 1;
  }
  return out;
}

std::string word_at(std::string_view sql, size_t offset) {
  size_t end = offset;
  while (end < sql.size() && !std::isspace(static_cast<unsigned char>(sql[end])) && sql[end] != ';')
    ++end;
  return std::string(sql.substr(offset, end - offset));
}

size_t control_character_at(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return i;
    unsigned char next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    // UTF-8 C1 controls U+0080..U+009F (U+0085 NEL is a line break; U+009B an escape sequence
    // introducer), and U+2028 LINE SEPARATOR / U+2029 PARAGRAPH SEPARATOR.
    if (c == 0xc2 && next >= 0x80 && next <= 0x9f) return i;
    if (c == 0xe2 && next == 0x80 && i + 2 < text.size() &&
        (static_cast<unsigned char>(text[i + 2]) == 0xa8 || static_cast<unsigned char>(text[i + 2]) == 0xa9))
      return i;
  }
  return std::string_view::npos;
}

unsigned code_point_at(std::string_view text, size_t at) {
  auto byte = [&](size_t k) { return at + k < text.size() ? static_cast<unsigned char>(text[at + k]) : 0u; };
  unsigned c = byte(0);
  if (c < 0x80) return c;
  if ((c & 0xe0) == 0xc0) return ((c & 0x1f) << 6) | (byte(1) & 0x3f);
  if ((c & 0xf0) == 0xe0) return ((c & 0x0f) << 12) | ((byte(1) & 0x3f) << 6) | (byte(2) & 0x3f);
  return c;
}

CaseInsensitiveWords::CaseInsensitiveWords(std::initializer_list<std::string_view> lower_case_words)
    : words_(lower_case_words) {
  if (words_.size() > 64) throw std::logic_error("CaseInsensitiveWords holds at most 64 words");
  for (size_t i = 0; i < words_.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(words_[i][0]);
    starting_[c] |= uint64_t(1) << i;
    if (c >= 'a' && c <= 'z') starting_[c - 'a' + 'A'] |= uint64_t(1) << i;
  }
}

bool CaseInsensitiveWords::found_in(std::string_view text) const {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (size_t i = 0; i < text.size(); ++i) {
    for (uint64_t m = starting_[static_cast<unsigned char>(text[i])]; m != 0; m &= m - 1) {
      std::string_view w = words_[__builtin_ctzll(m)];
      if (text.size() - i < w.size()) continue;
      size_t k = 1;
      while (k < w.size() && lower(text[i + k]) == w[k]) ++k;
      if (k == w.size()) return true;
    }
  }
  return false;
}

}  // namespace pgm

#include "core/no_pg.hpp"
