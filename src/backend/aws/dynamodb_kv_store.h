#pragma once
// aws.dynamodb: a KvStore on an Amazon DynamoDB table through its JSON protocol (API.md,
// "Backend types").
//
// Spec keys: `region` (required), `table` (required), `endpoint` (default
// https://dynamodb.<region>.amazonaws.com), and `create: true` (an extension for development
// and tests: create the table, on demand, when missing).
//
// The table is the one `exoflow synth` declares: partition key `pk` (S) and sort key `sk` (S).
// One binding is one table. Every item lives under the partition `pk = "exo"` with its key as
// `sk`, so a listing by prefix is one ordered Query (begins_with on the sort key, in the byte
// order of the keys' UTF-8, which is the API's order). An item carries:
//   value    S  the JSON value as text, as it was put
//   version  N  the item's version
// so the AWS CLI reads and writes items naturally:
//   {"pk": {"S": "exo"}, "sk": {"S": "cart/1"}, "value": {"S": "{\"n\": 1}"}, "version": {"N":
//   "7"}}
//
// Items other producers wrote are readable: a `value` S that is not JSON text reads as a JSON
// string; N, BOOL, NULL, M and L values read as their JSON counterparts; an item without
// `value` reads as null. An item without a numeric `version` has version "0", and If-Match "0"
// writes or deletes it only while it still has none.
//
// Versions are microseconds since the epoch times 1000 plus a random 0..999: they grow with
// time and two writes practically never share one, also across a delete and re-create.
// If-Match and If-None-Match: * are ConditionExpressions, so they are atomic in DynamoDB.
// Reads are strongly consistent. Cursors are base64url of "resume at" keys (the same form
// local.sqlite uses); a listing page may hold fewer items than `limit` when DynamoDB's 1 MB
// answer limit ends it, and then carries a cursor.
//
// At start the table's key schema is checked (a missing table stops the start, naming it,
// unless `create: true`); an unreachable endpoint does not stop the start: calls then answer
// Unavailable until it is back.

#include <memory>
#include <string_view>

#include "backend/kv_store.h"

namespace exoflow::backend::aws_dynamodb {

inline constexpr std::string_view kType = "aws.dynamodb";

/// The partition every item of a table lives in.
inline constexpr std::string_view kPartition = "exo";

Result<std::unique_ptr<KvStore>> openKvStore(const BackendSpec& spec, const KvStoreConfig& config,
                                             const BackendContext& context);

} // namespace exoflow::backend::aws_dynamodb
