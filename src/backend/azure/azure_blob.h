#pragma once
// azure.blob: an ObjectStore on Azure Blob storage through its REST API (API.md, "Backend
// types").
//
// Spec keys: `account`, `container` (required), `endpoint` (default
// https://<account>.blob.core.windows.net), and `create: true` (an extension for development
// and tests: create the container when missing).
//
// Layout: each object is a block blob named by its key, or, for a key Azure would refuse or
// change, by its escape (names.h): "~" and the key's bytes as letter pairs. A listing merges
// Azure's listings of both, each with its prefix and delimiter, in key order; its cursor holds
// both markers. Names are at most 1024 characters: escaped keys up to 511 bytes.
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
