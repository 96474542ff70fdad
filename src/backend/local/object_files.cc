#include "backend/local/object_files.h"

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "backend/local/codec.h"
#include "backend/local/object_db.h"

namespace exoflow::backend::local {
namespace {

struct DigestFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using Digest = std::unique_ptr<EVP_MD_CTX, DigestFree>;

/// Writes the whole buffer, retrying short writes and EINTR.
bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

class FileUpload final : public ObjectUpload {
public:
  FileUpload(std::shared_ptr<ObjectDb> db, std::string bucket, PutRequest request,
             std::string file_id, UniqueFd fd, Digest digest)
      : db_(std::move(db)), bucket_(std::move(bucket)), request_(std::move(request)),
        file_id_(std::move(file_id)), fd_(std::move(fd)), digest_(std::move(digest)) {}
  ~FileUpload() override { abort(); }

  FileUpload(const FileUpload&) = delete;
  FileUpload& operator=(const FileUpload&) = delete;

  void write(std::string chunk, Done<void> done) override {
    if (!open_) return done(fail(ErrorCode::kInvalidArgument, "the upload has ended"));
    if (!writeAll(fd_.get(), chunk)) {
      Error error = fileError("writing", db_->tempPath(file_id_));
      abort();
      return done(tl::unexpected(std::move(error)));
    }
    EVP_DigestUpdate(digest_.get(), chunk.data(), chunk.size());
    size_ += chunk.size();
    done({});
  }

  void finish(Done<ObjectInfo> done) override {
    if (!open_) return done(fail(ErrorCode::kInvalidArgument, "the upload has ended"));
    Result<ObjectInfo> info = commit();
    if (!info) {
      abort(); // removes the temp file if the failure left it
    } else {
      open_ = false;
    }
    done(std::move(info));
  }

  void abort() override {
    if (!open_) return;
    open_ = false;
    fd_.reset();
    std::error_code ec;
    std::filesystem::remove(db_->tempPath(file_id_), ec);
  }

private:
  /// Temp file durable, renamed into place, directory synced, then the row committed: a
  /// crash at any point leaves either the old object or the new one, and at worst a stray
  /// file that the next open removes.
  Result<ObjectInfo> commit() {
    if (request_.size && *request_.size != size_) {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("the body has {} bytes, not the {} announced", size_, *request_.size));
    }
    const std::filesystem::path temp = db_->tempPath(file_id_);
    if (::fsync(fd_.get()) != 0) return tl::unexpected(fileError("syncing", temp));
    if (!fd_.reset()) return tl::unexpected(fileError("closing", temp));
    const std::filesystem::path body = db_->bodyPath(file_id_);
    if (::rename(temp.c_str(), body.c_str()) != 0) {
      return tl::unexpected(fileError("renaming", temp));
    }
    std::error_code ec;
    if (auto ok = syncDirectory(db_->blobDir()); !ok) {
      std::filesystem::remove(body, ec);
      return tl::unexpected(ok.error());
    }
    unsigned char md5[EVP_MAX_MD_SIZE];
    unsigned int md5_size = 0;
    EVP_DigestFinal_ex(digest_.get(), md5, &md5_size);
    ObjectInfo info;
    info.key = request_.key;
    info.size = size_;
    info.etag = fmt::format("\"{}\"",
                            toHex(std::string_view(reinterpret_cast<const char*>(md5), md5_size)));
    info.last_modified =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    info.content_type =
        request_.content_type.empty() ? "application/octet-stream" : request_.content_type;
    info.metadata = request_.metadata;
    Result<std::optional<std::string>> replaced =
        db_->commit(bucket_, info, file_id_, request_.if_none_match_star);
    if (!replaced) {
      std::filesystem::remove(body, ec);
      return tl::unexpected(replaced.error());
    }
    if (*replaced) std::filesystem::remove(db_->bodyPath(**replaced), ec);
    return info;
  }

  std::shared_ptr<ObjectDb> db_;
  std::string bucket_;
  PutRequest request_;
  std::string file_id_;
  UniqueFd fd_;
  Digest digest_;
  bool open_ = true; ///< until finished or aborted
  std::uint64_t size_ = 0;
};

class FileDownload final : public ObjectDownload {
public:
  FileDownload(ObjectInfo info, UniqueFd fd, std::uint64_t offset, std::uint64_t length)
      : info_(std::move(info)), fd_(std::move(fd)), offset_(offset), length_(length) {}

  const ObjectInfo& info() const override { return info_; }
  std::uint64_t offset() const override { return offset_; }
  std::uint64_t length() const override { return length_; }

  void read(std::size_t max, Done<std::string> done) override {
    if (max == 0) return done(fail(ErrorCode::kInvalidArgument, "read() of 0 bytes"));
    const std::uint64_t left = length_ - served_;
    std::string chunk(static_cast<std::size_t>(std::min<std::uint64_t>(left, max)), '\0');
    std::size_t filled = 0;
    while (filled < chunk.size()) {
      const ssize_t n = ::pread(fd_.get(), chunk.data() + filled, chunk.size() - filled,
                                static_cast<off_t>(offset_ + served_ + filled));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return done(fail(ErrorCode::kInternal, "reading an object body failed"));
      if (n == 0)
        return done(fail(ErrorCode::kInternal, "an object body is shorter than its size"));
      filled += static_cast<std::size_t>(n);
    }
    served_ += filled;
    done(std::move(chunk));
  }

private:
  ObjectInfo info_;
  UniqueFd fd_;
  std::uint64_t offset_;
  std::uint64_t length_;
  std::uint64_t served_ = 0;
};

} // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

bool UniqueFd::reset() {
  if (fd_ < 0) return true;
  const int rc = ::close(std::exchange(fd_, -1));
  return rc == 0;
}

Error fileError(std::string_view what, const std::filesystem::path& path) {
  const int error = errno;
  return Error{ErrorCode::kUnavailable,
               fmt::format("{} {}: {}", what, path.string(),
                           std::error_code(error, std::generic_category()).message())};
}

Result<void> syncDirectory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return tl::unexpected(fileError("opening", dir));
  if (::fsync(fd.get()) != 0) return tl::unexpected(fileError("syncing", dir));
  return {};
}

Result<std::pair<std::uint64_t, std::uint64_t>>
resolveRange(std::uint64_t size, const std::optional<ByteRange>& range) {
  if (!range) return std::make_pair(std::uint64_t{0}, size);
  auto unsatisfiable = [size] {
    return fail(ErrorCode::kRangeNotSatisfiable,
                fmt::format("the range selects no byte of {} bytes", size));
  };
  if (!range->first) { // bytes=-n: the last n bytes
    if (range->suffix == 0 || size == 0) return unsatisfiable();
    const std::uint64_t n = std::min(range->suffix, size);
    return std::make_pair(size - n, n);
  }
  const std::uint64_t first = *range->first;
  if (first >= size) return unsatisfiable();
  std::uint64_t last = range->last.value_or(size - 1);
  if (last < first) return unsatisfiable();
  last = std::min(last, size - 1);
  return std::make_pair(first, last - first + 1);
}

Result<std::unique_ptr<ObjectUpload>> startUpload(std::shared_ptr<ObjectDb> db, std::string bucket,
                                                  PutRequest request) {
  Result<std::string> file_id = randomId();
  if (!file_id) return tl::unexpected(file_id.error());
  const std::filesystem::path temp = db->tempPath(*file_id);
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return tl::unexpected(fileError("creating", temp));
  Digest digest(EVP_MD_CTX_new());
  if (!digest || EVP_DigestInit_ex(digest.get(), EVP_md5(), nullptr) != 1) {
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    return fail(ErrorCode::kInternal, "cannot start an MD5 digest");
  }
  return std::make_unique<FileUpload>(std::move(db), std::move(bucket), std::move(request),
                                      std::move(*file_id), std::move(fd), std::move(digest));
}

std::unique_ptr<ObjectDownload> makeDownload(ObjectInfo info, UniqueFd fd, std::uint64_t offset,
                                             std::uint64_t length) {
  return std::make_unique<FileDownload>(std::move(info), std::move(fd), offset, length);
}

} // namespace exoflow::backend::local
