#include "core/run_mode.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace pgm {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The end of the line that starts at `start`: the next "\n", or a lone "\r" before it (the
// scanner's line breaks). memchr, not find_first_of, which tests each byte against the set:
// a 10 MB script is read several times by the checks below.
size_t line_break(std::string_view s, size_t start) {
  const char* begin = s.data() + start;
  size_t left = s.size() - start;
  const void* nl = std::memchr(begin, '\n', left);
  size_t len = nl ? static_cast<size_t>(static_cast<const char*>(nl) - begin) : left;
  const void* cr = std::memchr(begin, '\r', len);
  if (cr) len = static_cast<size_t>(static_cast<const char*>(cr) - begin);
  return start + len < s.size() ? start + len : std::string_view::npos;
}

// Calls fn(line) for each line of `s` while it returns true.
template <typename Fn>
void for_each_line(std::string_view s, Fn fn) {
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = line_break(s, start);
    if (nl == std::string_view::npos) {
      fn(s.substr(start));
      return;
    }
    if (!fn(s.substr(start, nl - start))) return;
    start = nl + (s[nl] == '\r' && nl + 1 < s.size() && s[nl + 1] == '\n' ? 2 : 1);
  }
}

std::vector<std::string_view> lines_of(std::string_view s) {
  std::vector<std::string_view> out;
  for_each_line(s, [&](std::string_view line) {
    out.push_back(line);
    return true;
  });
  return out;
}

// Parses a non-negative decimal number; false if `s` is not one or exceeds `max`.
bool parse_number(std::string_view s, long max, long& out) {
  if (s.empty() || s.size() > 10) return false;
  long v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t b = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > b) out.push_back(s.substr(b, i - b));
  }
  return out;
}

}  // namespace

namespace {

// The first non-blank line is the directive: the whole line, or a block comment that opens it
// (what the pg_migrate command writes in front of a file its tool marks non-transactional
// elsewhere, such as diesel's metadata.toml: the line numbers stay).
bool is_directive_line(std::string_view t) {
  return t == kNoTransactionDirective || t.substr(0, kNoTransactionBlock.size()) == kNoTransactionBlock;
}

}  // namespace

bool has_no_transaction_directive(std::string_view script) {
  bool found = false;
  for_each_line(script, [&](std::string_view line) {  // the first non-blank line decides
    std::string_view t = trim(line);
    if (t.empty()) return true;
    found = is_directive_line(t);
    return false;
  });
  return found;
}

bool has_misplaced_no_transaction_directive(std::string_view script) {
  bool first = true;
  for (std::string_view line : lines_of(script)) {
    std::string_view t = trim(line);
    if (t.empty()) continue;
    std::string_view rest = t;
    if (first) {
      first = false;
      if (t == kNoTransactionDirective) continue;
      if (is_directive_line(t)) rest = t.substr(kNoTransactionBlock.size());
    }
    if (rest.find("pg_migrate:no-transaction") != std::string_view::npos) return true;
  }
  return false;
}

std::optional<UnknownDirective> find_unknown_directive(std::string_view script) {
  static constexpr std::string_view kPrefix = "-- pg_migrate:";
  int line_no = 0;
  for (std::string_view line : lines_of(script)) {
    ++line_no;
    std::string_view t = trim(line);
    if (t.substr(0, 2) != "--") continue;
    std::string squeezed;
    for (char c : t)
      if (!std::isspace(static_cast<unsigned char>(c))) squeezed += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (squeezed.rfind("--pg_migrate:", 0) != 0) continue;
    if (t.substr(0, kPrefix.size()) == kPrefix) {
      std::string_view rest = t.substr(kPrefix.size());
      auto keyword = [&](std::string_view k) {
        return rest.substr(0, k.size()) == k &&
               (rest.size() == k.size() || std::isspace(static_cast<unsigned char>(rest[k.size()])));
      };
      if (rest == "no-transaction" || keyword("batch") || keyword("ignore")) continue;
    }
    return UnknownDirective{line_no, std::string(t)};
  }
  return std::nullopt;
}

std::string directive_signature(std::string_view script, const std::vector<std::pair<size_t, size_t>>& spans) {
  std::string out;
  size_t from = 0;
  for (size_t k = 0; k <= spans.size(); ++k) {
    size_t to = k < spans.size() ? std::min(spans[k].first, script.size()) : script.size();
    if (to > from) {
      for (std::string_view line : lines_of(script.substr(from, to - from))) {
        std::string lower;
        for (char c : line) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower.find("pg_migrate:") == std::string::npos) continue;
        out += std::to_string(k);
        out += '\t';
        out += trim(line);
        out += '\n';
      }
    }
    if (k < spans.size()) from = std::max(from, std::min(spans[k].second, script.size()));
  }
  return out;
}

std::optional<BatchDirective> find_batch_directive(std::string_view gap) {
  std::optional<BatchDirective> found;
  int line_no = 0;
  for (std::string_view line : lines_of(gap)) {
    std::string_view t = trim(line);
    int this_line = line_no++;
    if (t.rfind(kBatchDirective, 0) != 0) {
      // A near miss ("--pg_migrate:batch", "-- PG_MIGRATE:BATCH", "-- pg_migrate: batch") would
      // run the statement in one piece without a word: refused like the exact form's errors.
      std::string squeezed;
      for (char c : t)
        if (!std::isspace(static_cast<unsigned char>(c))) squeezed += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (squeezed.rfind("--pg_migrate:batch", 0) == 0)
        throw std::invalid_argument("misspelled batch directive \"" + std::string(t) +
                                    "\"; write it as \"-- pg_migrate:batch <rows> [pause <ms>ms]\"");
      continue;
    }
    std::string_view rest = t.substr(kBatchDirective.size());
    if (!rest.empty() && !std::isspace(static_cast<unsigned char>(rest.front())))
      throw std::invalid_argument("unknown directive \"" + std::string(words(t.substr(3))[0]) +
                                  "\"; expected \"-- pg_migrate:batch <rows> [pause <ms>ms]\"");
    if (found) throw std::invalid_argument("two batch directives before one statement");
    std::vector<std::string_view> w = words(rest);
    BatchDirective d;
    d.line_offset = this_line;
    if (w.empty() || !parse_number(w[0], 1000000, d.rows) || d.rows < 1)
      throw std::invalid_argument(
          "the batch directive needs a number of rows between 1 and 1000000, as in "
          "\"-- pg_migrate:batch 5000\"");
    if (w.size() == 3 && w[1] == "pause") {
      std::string_view ms = w[2];
      if (ms.size() > 2 && ms.substr(ms.size() - 2) == "ms") ms.remove_suffix(2);
      if (!parse_number(ms, 3600000, d.pause_ms))
        throw std::invalid_argument("the pause of a batch directive is a number of milliseconds "
                                    "up to 3600000, as in \"pause 50ms\"");
    } else if (w.size() != 1) {
      throw std::invalid_argument(
          "unexpected text after the batch size; the directive is "
          "\"-- pg_migrate:batch <rows> [pause <ms>ms]\"");
    }
    found = d;
  }
  return found;
}

}  // namespace pgm
