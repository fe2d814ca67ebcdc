// Status and Result<T>: how every module reports failure across its boundary.
// No exceptions cross module boundaries; a function that can fail returns Status or Result<T>.
// Both are cheap to move, safe to copy, and carry no ownership of anything but their message.
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rwd {

// [[nodiscard]]: a Status or Result a caller drops is a compile error (-Werror); a result
// dropped on purpose is cast to (void) with a comment saying why.
class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,         // the named thing does not exist
    kAlreadyExists,    // create of an existing name
    kInvalidArgument,  // the caller asked for something malformed or impossible
    kNotEmpty,         // rmdir of a non-empty directory
    kNotDirectory,     // a path component or target is not a directory
    kIsDirectory,      // a file operation on a directory
    kIOError,          // the device or OS failed
    kCorruption,       // stored bytes fail their checksum or framing
    kNoSpace,          // the device is full
    kBusy,             // the state does not allow it now (try later)
    kFailedPrecondition,  // the object is in a state that forbids the operation
    kUnavailable,      // a peer (process, server) is not there
    kPermissionDenied,  // the caller's credentials do not allow it (or were refused)
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status AlreadyExists(std::string_view msg) { return Status(Code::kAlreadyExists, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status NotEmpty(std::string_view msg) { return Status(Code::kNotEmpty, msg); }
  static Status NotDirectory(std::string_view msg) { return Status(Code::kNotDirectory, msg); }
  static Status IsDirectory(std::string_view msg) { return Status(Code::kIsDirectory, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status NoSpace(std::string_view msg) { return Status(Code::kNoSpace, msg); }
  static Status Busy(std::string_view msg) { return Status(Code::kBusy, msg); }
  static Status FailedPrecondition(std::string_view msg) {
    return Status(Code::kFailedPrecondition, msg);
  }
  static Status Unavailable(std::string_view msg) { return Status(Code::kUnavailable, msg); }
  static Status PermissionDenied(std::string_view msg) {
    return Status(Code::kPermissionDenied, msg);
  }
  // An OS error: ENOSPC maps to kNoSpace, everything else to kIOError; the message names errno.
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Adds context in front of the message, keeping the code and tag.
  Status WithContext(std::string_view context) const;

  // A tag names the precise fault for a layer that must tell callers more than the code says
  // (the cluster service's refusal kinds, cluster/cluster_error.h; an S3 error code from the
  // object store; the code an RDS endpoint sent, in the CLI). Empty unless set.
  Status WithTag(std::string_view tag) const {
    Status s = *this;
    s.tag_ = tag;
    return s;
  }
  const std::string& tag() const { return tag_; }

  // A detail is a layer's typed account of the failure, for callers that render or act on it
  // (the cluster service's refusals, cluster/cluster_error.h: the API layer renders their texts).
  // Immutable and shared by copies; WithContext and WithTag keep it. Null unless set.
  class Detail {
   public:
    virtual ~Detail() = default;
  };
  Status WithDetail(std::shared_ptr<const Detail> detail) const {
    Status s = *this;
    s.detail_ = std::move(detail);
    return s;
  }
  const Detail* detail() const { return detail_.get(); }

 private:
  Status(Code code, std::string_view msg) : code_(code), message_(msg) {}
  Code code_ = Code::kOk;
  std::string message_;
  std::string tag_;
  std::shared_ptr<const Detail> detail_;
};

const char* CodeName(Status::Code code);

// Result<T>: a T on success, a non-ok Status on failure.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok());
  }
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace rwd

#define REWIND_CONCAT_INNER(a, b) a##b
#define REWIND_CONCAT(a, b) REWIND_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` failed.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::rwd::Status _st = (expr);             \
    if (!_st.ok()) return _st;                 \
  } while (0)

// `lhs = value of result expr`, or returns its Status from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr)                                   \
  auto REWIND_CONCAT(_res_, __LINE__) = (expr);                       \
  if (!REWIND_CONCAT(_res_, __LINE__).ok())                           \
    return REWIND_CONCAT(_res_, __LINE__).status();                   \
  lhs = std::move(REWIND_CONCAT(_res_, __LINE__)).value()
