// Errors raised by pg_migrate's own C++ code. Pure: no PostgreSQL header.
// The entry-point wrapper turns a pgm::Error into ereport(ERROR) with the same SQLSTATE.
#pragma once

#include <exception>
#include <string>
#include <utility>

namespace pgm {

// Common SQLSTATEs, spelled as PostgreSQL's five-character codes.
namespace sqlstate {
inline constexpr const char* kInvalidParameterValue = "22023";
inline constexpr const char* kNullValueNotAllowed = "22004";
inline constexpr const char* kSyntaxError = "42601";
inline constexpr const char* kUndefinedObject = "42704";
inline constexpr const char* kDuplicateObject = "42710";
inline constexpr const char* kDuplicateTable = "42P07";
inline constexpr const char* kInsufficientPrivilege = "42501";
inline constexpr const char* kObjectNotInPrerequisiteState = "55000";
inline constexpr const char* kLockNotAvailable = "55P03";
inline constexpr const char* kSerializationFailure = "40001";
inline constexpr const char* kActiveSqlTransaction = "25001";
inline constexpr const char* kInvalidTransactionTermination = "2D000";
inline constexpr const char* kFeatureNotSupported = "0A000";
inline constexpr const char* kInternalError = "XX000";
}  // namespace sqlstate

class Error : public std::exception {
 public:
  Error(std::string sqlstate, std::string message, std::string detail = {}, std::string hint = {})
      : sqlstate_(std::move(sqlstate)),
        message_(std::move(message)),
        detail_(std::move(detail)),
        hint_(std::move(hint)) {}

  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& sqlstate() const { return sqlstate_; }
  const std::string& message() const { return message_; }
  const std::string& detail() const { return detail_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string sqlstate_;
  std::string message_;
  std::string detail_;
  std::string hint_;
};

}  // namespace pgm
