#pragma once
// Object bodies on disk: file descriptors, the upload that writes a temp file while hashing
// it, and the download that reads a byte range by chunks.

#include <utility>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "backend/object_store.h"

namespace exoflow::backend::local {

class ObjectDb;

/// An owned POSIX file descriptor, closed when destroyed.
class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  /// Closes the descriptor; true unless close() reported an error.
  bool reset();

private:
  int fd_ = -1;
};

/// kUnavailable describing errno for `what` on `path`.
Error fileError(std::string_view what, const std::filesystem::path& path);

/// fsync()s a directory, so a rename or a new file in it survives a crash.
Result<void> syncDirectory(const std::filesystem::path& dir);

/// The first byte and the length `range` selects in an object of `size` bytes (the whole
/// object without a range); kRangeNotSatisfiable when it selects nothing.
Result<std::pair<std::uint64_t, std::uint64_t>> resolveRange(std::uint64_t size,
                                                             const std::optional<ByteRange>& range);

/// Starts an upload of `request` into `bucket`: a temp file in the store's blob directory.
Result<std::unique_ptr<ObjectUpload>> startUpload(std::shared_ptr<ObjectDb> db, std::string bucket,
                                                  PutRequest request);

/// A download of [offset, offset + length) from an open body file.
std::unique_ptr<ObjectDownload> makeDownload(ObjectInfo info, UniqueFd fd, std::uint64_t offset,
                                             std::uint64_t length);

} // namespace exoflow::backend::local
