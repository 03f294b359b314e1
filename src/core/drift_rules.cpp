#include "core/drift_rules.hpp"

#include <algorithm>

namespace pgm::drift {

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matcher with one backtrack point for the last '*'. '?' and '*' step over whole
  // UTF-8 characters, as LIKE's '_' and '%' do in schema_diff()'s matching.
  auto continuation = [&](size_t i) { return i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80; };
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '?') {
      ++p;
      ++t;
      while (continuation(t)) ++t;
    } else if (p < pattern.size() && pattern[p] != '*' && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      ++mark;
      while (continuation(mark)) ++mark;
      t = mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool excluded(const std::vector<Exclusion>& exclusions, const std::optional<std::string>& schema,
              const std::optional<std::string>& name) {
  if (!schema) return false;
  std::string_view n = name ? std::string_view(*name) : std::string_view();
  return std::any_of(exclusions.begin(), exclusions.end(), [&](const Exclusion& e) {
    return glob_match(e.schema_pattern, *schema) && glob_match(e.name_pattern, n);
  });
}

bool is_temp_schema(std::string_view schema) {
  return schema == "pg_temp" || schema.rfind("pg_temp_", 0) == 0 || schema.rfind("pg_toast_temp_", 0) == 0;
}

Scope object_scope(std::string_view object_type, const std::optional<std::string>& schema,
                   const std::vector<std::string>& address_names,
                   const std::optional<std::string>& object_name) {
  Scope s;
  if (object_type == "schema") {
    if (!address_names.empty()) s.schema = address_names[0];
    else s.schema = object_name;
    return s;
  }
  s.schema = schema;
  if (!s.schema && address_names.size() >= 3) s.schema = address_names[0];
  if (address_names.size() >= 2) s.name = address_names[1];
  else s.name = object_name;
  // A domain's constraint goes with its domain: its one address name is the domain's
  // qualified type name ("public.d", "public.\"D x\""), as a dropped object reports it.
  if (object_type == "domain constraint" && address_names.size() == 1 && !object_name) {
    const std::string& q = address_names[0];
    size_t dot = std::string::npos;
    bool quoted = false;
    for (size_t i = 0; i < q.size(); ++i) {
      if (q[i] == '"') quoted = !quoted;
      else if (q[i] == '.' && !quoted) dot = i;
    }
    std::string name = dot == std::string::npos ? q : q.substr(dot + 1);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      std::string plain;
      for (size_t i = 1; i + 1 < name.size(); ++i) {
        plain += name[i];
        if (name[i] == '"' && i + 2 < name.size() && name[i + 1] == '"') ++i;  // "" is one quote
      }
      name = plain;
    }
    s.name = name;
  }
  return s;
}

namespace {

// An argument list as the drift row and the snapshot key spell it alike: the identity
// qualifies built-in types ("pg_catalog.text") and writes no space after a comma, the key
// neither ("text", "character varying, integer").
// The first '(' outside double quotes ("t(1)" is a name), npos if none.
size_t unquoted_paren(std::string_view s) {
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    else if (s[i] == '(' && !quoted) return i;
  }
  return std::string_view::npos;
}

std::string normalized_arguments(std::string_view s) {
  size_t open = unquoted_paren(s);
  if (open == std::string_view::npos || open == 0) return std::string(s);
  std::string out(s.substr(0, open));
  constexpr std::string_view kCatalog = "pg_catalog.";
  bool quoted = false;  // (no quote is open at `open`)
  for (size_t i = open; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') quoted = !quoted;
    if (!quoted && s.compare(i, kCatalog.size(), kCatalog) == 0 && (s[i - 1] == '(' || s[i - 1] == ',' || s[i - 1] == ' ')) {
      i += kCatalog.size() - 1;
      continue;
    }
    if (!quoted && c == ' ' && !out.empty() && out.back() == ',') continue;
    out += c;
  }
  return out;
}

}  // namespace

bool key_concerns(std::string_view key, std::string_view object_type, std::string_view identity) {
  size_t space = key.find(' ');
  if (space == std::string_view::npos || identity.empty()) return false;
  std::string_view k = key.substr(space + 1);
  if (object_type == "schema") return key.substr(0, space) == "schema" && k == identity;
  // A function, procedure, aggregate or operator: its name and argument types.
  if (size_t open = unquoted_paren(identity); open != std::string_view::npos && open > 0)
    return normalized_arguments(k) == normalized_arguments(identity);
  // A column default ("default value" rows) is named "for public.t.c": the column's entry.
  if (object_type == "default value" && identity.substr(0, 4) == "for ") identity.remove_prefix(4);
  std::string named(identity);
  // "x on public.t" (quoted identifiers cannot contain " on " unquoted: a quoted one keeps
  // its quotes, so the last " on " outside quotes is the separator).
  size_t on = std::string::npos;
  bool quoted = false;
  for (size_t i = 0; i + 4 <= identity.size(); ++i) {
    if (identity[i] == '"') quoted = !quoted;
    else if (!quoted && identity.compare(i, 4, " on ") == 0) on = i;
  }
  if (on != std::string::npos)
    named = std::string(identity.substr(on + 4)) + "." + std::string(identity.substr(0, on));
  return k == named || (k.size() > named.size() && k.compare(0, named.size(), named) == 0 && k[named.size()] == '.');
}

std::optional<std::string> previous_identity(std::string_view detail) {
  for (std::string_view marker : {std::string_view("renamed (was "), std::string_view("moved (was "),
                                   std::string_view("left the watched objects (was ")}) {
    size_t at = detail.find(marker);
    if (at == std::string_view::npos || (at > 0 && (at < 2 || detail.compare(at - 2, 2, "; ") != 0))) continue;
    size_t start = at + marker.size();
    if (detail.compare(start, 7, "schema ") == 0) start += 7;  // (a schema that left: "was schema s")
    // The identity ends at the ")" that ends the detail or its part (quoted names may hold one).
    for (size_t end = detail.find(')', start); end != std::string_view::npos; end = detail.find(')', end + 1))
      if (end + 1 == detail.size() || detail.compare(end + 1, 2, "; ") == 0)
        return end > start ? std::optional<std::string>(detail.substr(start, end - start)) : std::nullopt;
  }
  return std::nullopt;
}

bool key_concerns_renamed(std::string_view key, std::string_view object_type, std::string_view identity,
                          std::string_view previous) {
  if (key_concerns(key, object_type, identity)) return true;
  // A function's previous name comes without its arguments, which did not change.
  std::string before(previous);
  size_t open = unquoted_paren(identity);
  if (open != std::string_view::npos && open > 0 && unquoted_paren(previous) == std::string_view::npos)
    before += identity.substr(open);
  if (key_concerns(key, object_type, before)) return true;
  if (object_type != "schema") return false;
  size_t space = key.find(' ');
  if (space == std::string_view::npos) return false;
  std::string_view k = key.substr(space + 1);
  for (std::string_view schema : {identity, previous})
    if (!schema.empty() && k.size() > schema.size() && k.compare(0, schema.size(), schema) == 0 && k[schema.size()] == '.')
      return true;
  return false;
}

std::optional<std::string> index_entry_table(std::string_view entry) {
  constexpr std::string_view kField = "\"table\": \"";
  size_t at = entry.find(kField);
  if (entry.empty() || entry.front() != '{' || at == std::string_view::npos) return std::nullopt;
  std::string out;
  for (size_t i = at + kField.size(); i < entry.size(); ++i) {
    char c = entry[i];
    if (c == '"') return out;
    if (c == '\\') {  // JSON escapes: an identifier's quotes (\") and backslashes (\\)
      if (++i >= entry.size()) break;
      c = entry[i];
      if (c != '"' && c != '\\' && c != '/') return std::nullopt;  // (no control characters in names)
    }
    out += c;
  }
  return std::nullopt;
}

std::vector<size_t> dropped_to_record(const std::vector<DroppedObject>& dropped, bool members_known) {
  bool extension_dropped = std::any_of(dropped.begin(), dropped.end(), [](const DroppedObject& d) {
    return d.original && d.object_type == "extension";
  });
  auto part_of_dropped_relation = [&](const DroppedObject& d) {
    if (d.address_names.size() < 3) return false;
    return std::any_of(dropped.begin(), dropped.end(), [&](const DroppedObject& t) {
      return (t.object_type == "table" || t.object_type == "view" || t.object_type == "materialized view" ||
              t.object_type == "foreign table") &&
             t.address_names.size() == 2 && t.address_names[0] == d.address_names[0] &&
             t.address_names[1] == d.address_names[1];
    });
  };
  std::vector<size_t> out;
  for (size_t i = 0; i < dropped.size(); ++i) {
    const DroppedObject& d = dropped[i];
    if (d.is_temporary) continue;
    if (members_known) {
      // A partition: a table in its own right, dropped with its partitioned table by an
      // automatic dependency (not "normal"), its address {schema, table} like any table's.
      bool partition = !d.original && !d.normal && d.object_type == "table" && d.address_names.size() == 2 &&
                       d.address_names[0] != "pg_toast";
      if (d.extension_member || (!d.original && !partition && !(d.normal && !part_of_dropped_relation(d)))) continue;
    } else if (!d.original && !(d.normal && !extension_dropped && !part_of_dropped_relation(d))) {
      continue;
    }
    bool duplicate = std::any_of(out.begin(), out.end(), [&](size_t j) {
      return dropped[j].classid == d.classid && dropped[j].objid == d.objid && dropped[j].objsubid == d.objsubid;
    });
    if (!duplicate) out.push_back(i);
  }
  return out;
}

std::string statement_text(std::string_view query, int location, int length) {
  size_t start = location > 0 ? std::min<size_t>(static_cast<size_t>(location), query.size()) : 0;
  size_t len = length > 0 ? std::min<size_t>(static_cast<size_t>(length), query.size() - start)
                          : query.size() - start;
  std::string_view s = query.substr(start, len);
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n;");
  if (e == std::string_view::npos || e < b) return {};
  return std::string(s.substr(b, e - b + 1));
}


SnapshotDrop snapshot_drop(std::string_view type, const std::vector<std::string>& names,
                           const std::function<std::string(const std::string&)>& quote) {
  SnapshotDrop d;
  auto qualified = [&](size_t n) { return quote(names[0]) + "." + quote(names[1 < n ? 1 : 0]); };
  if (type == "extension") {
    d.whole = true;
    return d;
  }
  if (type == "schema") {
    if (names.empty()) return d;
    d.keys.push_back("schema " + quote(names[0]));
    d.owner_kind = 'n';
    d.owner = quote(names[0]);
    return d;
  }
  // Relations: {schema, name}.
  static const std::pair<std::string_view, std::string_view> relations[] = {
      {"table", "table"}, {"foreign table", "table"}, {"view", "view"},
      {"materialized view", "materialized_view"}, {"sequence", "sequence"}, {"index", "index"},
      {"composite type", ""}};
  for (const auto& [t, kind] : relations) {
    if (type != t) continue;
    if (names.size() < 2) return d;
    std::string q = qualified(2);
    if (!kind.empty()) d.keys.push_back(std::string(kind) + " " + q);
    if (kind == "table" || kind == "view" || kind == "materialized_view")
      for (const char* part : {"column ", "constraint ", "trigger ", "policy ", "rule "})
        d.prefixes.push_back(part + q + ".");
    d.owner_kind = 'r';
    d.owner = q;
    return d;
  }
  // Parts of a relation: {schema, table, part}.
  static const std::pair<std::string_view, std::string_view> parts[] = {
      {"table column", "column"}, {"table constraint", "constraint"}, {"trigger", "trigger"},
      {"policy", "policy"}, {"rule", "rule"}, {"default value", ""}};
  for (const auto& [t, kind] : parts) {
    if (type != t) continue;
    if (names.size() < 3) return d;
    std::string table = qualified(2);
    if (!kind.empty()) d.keys.push_back(std::string(kind) + " " + table + "." + quote(names[2]));
    d.owner_kind = 'r';
    d.owner = table;
    return d;
  }
  if (type == "type" || type == "domain") {  // {"schema.name"}, already qualified and quoted
    if (names.empty()) return d;
    // Whichever it was (dropped objects call a domain a type): a name is one or the other.
    d.keys.push_back("type " + names[0]);
    d.keys.push_back("domain " + names[0]);
    d.prefixes.push_back("constraint " + names[0] + ".");
    d.owner_kind = 't';
    d.owner = names[0];
    return d;
  }
  if (type == "domain constraint") {  // {"schema.domain", constraint}
    if (names.size() < 2) return d;
    d.keys.push_back("constraint " + names[0] + "." + quote(names[1]));
    d.owner_kind = 't';
    d.owner = names[0];
    return d;
  }
  if (type == "function" || type == "procedure" || type == "aggregate") {  // {schema, name}
    if (names.size() < 2) return d;
    std::string q = qualified(2);
    d.prefixes.push_back(std::string(type) + " " + q + "(");
    d.owner_kind = 'p';
    d.owner = q;
    return d;
  }
  return d;  // not part of a snapshot
}

}  // namespace pgm::drift

#include "core/no_pg.hpp"
