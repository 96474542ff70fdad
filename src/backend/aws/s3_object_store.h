#pragma once
// aws.s3: an ObjectStore on Amazon S3 through its REST API (API.md, "Backend types").
//
// Spec keys: `region` (required), `bucket` (required), `endpoint` (default
// https://s3.<region>.amazonaws.com), `path_style` (default false: the bucket in the host
// name, bucket.s3.<region>.amazonaws.com; true: in the path, as emulators want), and
// `create: true` (an extension for development and tests: create the bucket when missing).
//
// On S3 an object is an ordinary object: its key, body, Content-Type and user metadata as
// x-amz-meta-* headers, so what the AWS CLI or an SDK writes is read through the proxy and the
// other way round.
//
// Uploads are streamed: up to one part (8 MiB) is held in memory; an object that fits in it
// is sent with one PutObject (its ETag is the body's MD5), a larger one as a multipart upload
// of parts of 8 MiB and more (its ETag is S3's "<md5 of the part MD5s>-<parts>"), completed
// by finish() and aborted when the upload is abandoned. `If-None-Match: *` goes on the
// PutObject or CompleteMultipartUpload, so the condition holds at finish. Downloads are read
// in ranged GETs of 8 MiB, each after the first conditional on the first's ETag, so an object
// replaced mid-download fails the download instead of mixing two bodies. List cursors carry
// S3's continuation token.

#include <memory>

#include "backend/object_store.h"

namespace exoflow::backend::aws_s3 {

inline constexpr std::string_view kType = "aws.s3";

/// The size of an upload's parts and of a download's ranged GETs; objects up to this size are
/// sent in one PutObject.
inline constexpr std::size_t kPartSize = std::size_t{8} << 20;

Result<std::unique_ptr<ObjectStore>> openObjectStore(const BackendSpec& spec,
                                                     const ObjectStoreConfig& config,
                                                     const BackendContext& context);

} // namespace exoflow::backend::aws_s3
