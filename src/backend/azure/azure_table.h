#pragma once
// azure.table: a KvStore on Azure Table storage through its REST API (API.md, "Backend types").
//
// Spec keys: `account`, `table` (required), `endpoint` (default
// https://<account>.table.core.windows.net), and `create: true` (an extension for development
// and tests: create the table when missing).
//
// Layout: every item is an entity of one partition ("exo"), so that a prefix lists in key order;
// its RowKey is the key, or, for a key holding a character Azure forbids (/ \ # ? and control
// characters), its escape (names.h): "~" and the key's bytes as letter pairs. A listing reads
// both ranges and merges them in key order. The value is split across string properties v0, v1,
// ... (Azure holds 64 KiB per property) with their count in `n`. The version is the entity's ETag
// in base64url: If-Match and insert (for If-None-Match: *) give the conditional writes.

#include <memory>

#include "backend/kv_store.h"

namespace exoflow::backend::azure_table {

inline constexpr std::string_view kType = "azure.table";

Result<std::unique_ptr<KvStore>> openKvStore(const BackendSpec& spec, const KvStoreConfig& config,
                                             const BackendContext& context);

} // namespace exoflow::backend::azure_table
