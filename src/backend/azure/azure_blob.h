#pragma once
// azure.blob: an ObjectStore on Azure Blob storage through its REST API (API.md, "Backend
// types").
//
// Spec keys: `account`, `container` (required), `endpoint` (default
// https://<account>.blob.core.windows.net), and `create: true` (an extension for development
// and tests: create the container when missing).
//
// Layout: each object is a block blob. Its name is the key's bytes, each as two letters: the
// high nibble as A-P, the low one as a-p. Azure and the HTTP path between see plain letters
// whatever the key holds (".." and "//" stay names, never paths), the names sort in the keys'
// byte order, and a key prefix or delimiter is the same encoding of it, which can only match
// at a byte boundary (upper-case letters sit at even offsets only), so Azure's own prefix and
// delimiter listing serve the API's. Names are at most 1024 characters: keys up to 512 bytes.
// The ETag is the body's MD5, computed while streaming and kept in metadata (`exomd5`) with
// the user's metadata (`exometa`, encoded: Azure takes only C# identifiers as names). Bodies up
// to 4 MiB go in one Put Blob; larger ones as staged 4 MiB blocks (ids unique per upload) made
// visible by Put Block List, with If-None-Match: * for the API's. Downloads read 4 MiB ranges
// with If-Match on the blob's ETag, so an overwrite during a read fails it rather than mixing.

#include <memory>

#include "backend/object_store.h"

namespace exoflow::backend::azure_blob {

inline constexpr std::string_view kType = "azure.blob";

Result<std::unique_ptr<ObjectStore>> openObjectStore(const BackendSpec& spec,
                                                     const ObjectStoreConfig& config,
                                                     const BackendContext& context);

} // namespace exoflow::backend::azure_blob
