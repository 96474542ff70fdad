// aws.dynamodb: see dynamodb_kv_store.h. Every call is one DynamoDB request made through
// JsonApi; completions run on the shared HTTP client's thread.

#include "backend/aws/dynamodb_kv_store.h"

#include <utility>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backend/aws/json_api.h"
#include "backend/cloud.h"
#include "backend/json_fields.h"
#include "backend/local/codec.h"

namespace exoflow::backend::aws_dynamodb {
namespace {

using json_fields::member;
using json_fields::text;
using nlohmann::json;

constexpr std::size_t kMaxKey = 512;   // API.md; DynamoDB's sort key takes 1024
constexpr std::size_t kMaxDigits = 38; // DynamoDB's precision
constexpr int kMaxListLimit = 1000;    // API.md
constexpr int kActiveChecks = 240;     // a new table is ACTIVE within seconds (moto: at once)
constexpr auto kActivePause = std::chrono::milliseconds(250);

/// Whether `s` is UTF-8: DynamoDB's strings are, and the JSON encoder refuses anything else.
bool validUtf8(std::string_view s) {
  constexpr std::array<char32_t, 5> kSmallest = {0, 0, 0x80, 0x800, 0x10000};
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t length = 1;
    char32_t cp = lead;
    if (lead >= 0x80) {
      if ((lead & 0xE0U) == 0xC0U) {
        length = 2;
        cp = lead & 0x1FU;
      } else if ((lead & 0xF0U) == 0xE0U) {
        length = 3;
        cp = lead & 0x0FU;
      } else if ((lead & 0xF8U) == 0xF0U) {
        length = 4;
        cp = lead & 0x07U;
      } else {
        return false;
      }
      if (i + length > s.size()) return false;
      for (std::size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(s[i + k]);
        if ((next & 0xC0U) != 0x80U) return false;
        cp = (cp << 6U) | (next & 0x3FU);
      }
      // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
      if (cp < kSmallest[length] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
    }
    i += length;
  }
  return true;
}

Result<void> checkKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKey || !validUtf8(key)) {
    return fail(ErrorCode::kInvalidArgument, "an item key holds 1..512 bytes of UTF-8");
  }
  return {};
}

/// An If-Match value as DynamoDB number text (the quoted ETag form is accepted too), or
/// nullopt when it cannot be any item's version: such a condition fails without a call.
std::optional<std::string> parseVersion(std::string_view version) {
  if (version.size() >= 2 && version.front() == '"' && version.back() == '"') {
    version = version.substr(1, version.size() - 2);
  }
  std::string_view digits = version;
  if (digits.starts_with('-')) digits.remove_prefix(1);
  const std::size_t point = digits.find('.');
  const std::string_view whole = digits.substr(0, point);
  const std::string_view fraction =
      point == std::string_view::npos ? std::string_view() : digits.substr(point + 1);
  auto all_digits = [](std::string_view part) {
    return part.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (whole.empty() || !all_digits(whole) || !all_digits(fraction)) return std::nullopt;
  if (point != std::string_view::npos && fraction.empty()) return std::nullopt;
  // DynamoDB keeps numbers without leading zeros; "007" names no version it reports.
  if (whole.size() > 1 && whole.front() == '0') return std::nullopt;
  if (whole.size() + fraction.size() > kMaxDigits) return std::nullopt;
  return std::string(version);
}

/// A fresh version: microseconds since the epoch times 1000 plus a random 0..999.
Result<std::string> newVersion() {
  Result<std::string> random = local::randomBytes(2);
  if (!random) return tl::unexpected(random.error());
  const unsigned spread = ((static_cast<unsigned char>((*random)[0]) << 8U) |
                           static_cast<unsigned char>((*random)[1])) %
                          1000U;
  const std::int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  return std::to_string(micros * 1000 + spread);
}

std::string joined(const std::vector<std::string>& parts, char open, char close) {
  std::string out(1, open);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ',';
    out += parts[i];
  }
  out += close;
  return out;
}

/// JSON text for DynamoDB number text (JSON's grammar is the stricter one).
std::string numberText(const std::string& number) {
  return json::accept(number) ? number : json(number).dump();
}

/// The JSON text of a DynamoDB attribute value. `top`: the item's `value` attribute, whose S
/// is JSON text (this backend's own format) unless it does not parse as JSON. Nested strings
/// are strings. Binary values (base64 in DynamoDB's JSON) read as strings of their base64.
std::optional<std::string> jsonOf(const json& attribute, bool top) {
  if (!attribute.is_object() || attribute.size() != 1) return std::nullopt;
  const std::string& type = attribute.begin().key();
  const json& v = attribute.begin().value();
  auto strings = [&v](bool numbers) -> std::optional<std::string> {
    if (!v.is_array()) return std::nullopt;
    std::vector<std::string> parts;
    for (const json& element : v) {
      if (!element.is_string()) return std::nullopt;
      parts.push_back(numbers ? numberText(element.get<std::string>()) : element.dump());
    }
    return joined(parts, '[', ']');
  };
  if ((type == "S" || type == "B") && v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (top && type == "S" && json::accept(s)) return s;
    return v.dump();
  }
  if (type == "N" && v.is_string()) return numberText(v.get<std::string>());
  if (type == "BOOL" && v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  if (type == "NULL") return std::string("null");
  if (type == "SS" || type == "BS") return strings(false);
  if (type == "NS") return strings(true);
  if (type == "L" && v.is_array()) {
    std::vector<std::string> parts;
    for (const json& element : v) {
      std::optional<std::string> part = jsonOf(element, false);
      if (!part) return std::nullopt;
      parts.push_back(std::move(*part));
    }
    return joined(parts, '[', ']');
  }
  if (type == "M" && v.is_object()) {
    std::vector<std::string> parts;
    for (auto it = v.begin(); it != v.end(); ++it) {
      std::optional<std::string> part = jsonOf(it.value(), false);
      if (!part) return std::nullopt;
      parts.push_back(json(it.key()).dump() + ":" + *part);
    }
    return joined(parts, '{', '}');
  }
  return std::nullopt;
}

/// An item as DynamoDB returned it, as the API's item (see the header for other producers').
Result<KvItem> itemOf(const json& item) {
  KvItem out;
  out.key = text(member(item, "sk"), "S");
  const json& value = member(item, "value");
  if (value.is_null()) {
    out.value = "null";
  } else if (std::optional<std::string> decoded = jsonOf(value, true)) {
    out.value = std::move(*decoded);
  } else {
    return fail(ErrorCode::kInternal,
                fmt::format("item \"{}\": the value attribute is not a DynamoDB value", out.key));
  }
  const json& version = member(member(item, "version"), "N");
  out.version = version.is_string() ? version.get<std::string>() : "0";
  return out;
}

/// The condition "the item exists at this version"; version "0" also matches an item without
/// a numeric version (one another producer wrote).
void requireVersion(json& body, const std::string& version) {
  body["ExpressionAttributeNames"] = {{"#version", "version"}};
  if (version == "0") {
    body["ConditionExpression"] =
        "attribute_exists(sk) AND (#version = :version OR NOT attribute_type(#version, :number))";
    body["ExpressionAttributeValues"] = {{":version", {{"N", version}}}, {":number", {{"S", "N"}}}};
  } else {
    body["ConditionExpression"] = "attribute_exists(sk) AND #version = :version";
    body["ExpressionAttributeValues"] = {{":version", {{"N", version}}}};
  }
}

/// The key a cursor resumes after. Cursors are "resume at key + NUL" (the form local.sqlite
/// uses too; keys hold no control characters, so nothing sorts between the two).
Result<std::string> resumeAfter(std::string_view cursor, std::string_view prefix) {
  Result<std::string> resume = local::decodeCursor(cursor);
  if (!resume) return tl::unexpected(resume.error());
  if (resume->size() < 2 || resume->back() != '\0') {
    return fail(ErrorCode::kInvalidArgument, "the cursor is not one this table gave");
  }
  resume->pop_back();
  if (resume->size() > kMaxKey || !validUtf8(*resume) || !resume->starts_with(prefix)) {
    return fail(ErrorCode::kInvalidArgument, "the cursor belongs to another listing");
  }
  return std::move(*resume);
}

/// A failed call's error for the caller: a failed condition says which, and a missing table
/// (DynamoDB answers a missing item without an error) is Unavailable, naming the table, so a
/// chain of backends moves on.
Error callError(const Error& error, const std::string& table, std::string_view condition) {
  if (error.code == ErrorCode::kPreconditionFailed && !condition.empty()) {
    return Error{error.code, std::string(condition)};
  }
  if (error.code == ErrorCode::kNotFound) {
    return Error{ErrorCode::kUnavailable,
                 fmt::format("DynamoDB table \"{}\": {}", table, error.message)};
  }
  return error;
}

class DynamoDbKvStore final : public KvStore {
public:
  DynamoDbKvStore(std::unique_ptr<aws::JsonApi> api, std::string table)
      : api_(std::move(api)), table_(std::move(table)) {}

  std::string describe() const override {
    return fmt::format("{}:{}", kType, api_->endpoint().region);
  }

  KvFeatures features() const override {
    return {KvFeature::kConditionalWrites, KvFeature::kPrefixList, KvFeature::kLargeValues};
  }

  void put(KvPutRequest request, Done<std::string> done) override;
  void get(std::string key, Done<KvItem> done) override;
  void remove(std::string key, std::optional<std::string> if_match, Done<void> done) override;
  void list(KvListRequest request, Done<KvListResult> done) override;

private:
  json itemKey(const std::string& key) const {
    return {{"pk", {{"S", std::string(kPartition)}}}, {"sk", {{"S", key}}}};
  }

  std::unique_ptr<aws::JsonApi> api_;
  std::string table_;
};

void DynamoDbKvStore::put(KvPutRequest request, Done<std::string> done) {
  if (auto ok = checkKey(request.key); !ok) return done(tl::unexpected(ok.error()));
  // The proxy checked the value already; the JSON encoder below must not meet broken UTF-8.
  if (!json::accept(request.value)) {
    return done(fail(ErrorCode::kInvalidArgument, "the value is not JSON"));
  }
  Result<std::string> version = newVersion();
  if (!version) return done(tl::unexpected(version.error()));
  json item = itemKey(request.key);
  item["value"] = {{"S", std::move(request.value)}};
  item["version"] = {{"N", *version}};
  json body = {{"TableName", table_}, {"Item", std::move(item)}};
  std::string_view condition;
  if (request.if_none_match_star) {
    body["ConditionExpression"] = "attribute_not_exists(sk)";
    condition = "the item exists (If-None-Match: *)";
  } else if (request.if_match) {
    std::optional<std::string> expected = parseVersion(*request.if_match);
    if (!expected) {
      return done(fail(ErrorCode::kPreconditionFailed,
                       "the item is missing or its version does not match If-Match"));
    }
    requireVersion(body, *expected);
    condition = "the item is missing or its version does not match If-Match";
  }
  // A conditional write repeated after a lost answer would fail its own condition: only an
  // unconditional one (the same item again) is safe to retry.
  api_->call(
      "PutItem", body, condition.empty(),
      [table = table_, condition, version = *version, done = std::move(done)](Result<json> answer) {
        if (!answer) return done(tl::unexpected(callError(answer.error(), table, condition)));
        done(version);
      });
}

void DynamoDbKvStore::get(std::string key, Done<KvItem> done) {
  if (auto ok = checkKey(key); !ok) return done(tl::unexpected(ok.error()));
  const json body = {{"TableName", table_}, {"Key", itemKey(key)}, {"ConsistentRead", true}};
  api_->call("GetItem", body, true, [table = table_, done = std::move(done)](Result<json> answer) {
    if (!answer) return done(tl::unexpected(callError(answer.error(), table, "")));
    const json& item = member(*answer, "Item");
    if (!item.is_object()) return done(fail(ErrorCode::kNotFound, "no such item"));
    done(itemOf(item));
  });
}

void DynamoDbKvStore::remove(std::string key, std::optional<std::string> if_match,
                             Done<void> done) {
  if (auto ok = checkKey(key); !ok) return done(tl::unexpected(ok.error()));
  json body = {{"TableName", table_}, {"Key", itemKey(key)}};
  std::string_view condition;
  if (if_match) {
    condition = "the item is missing or its version does not match If-Match";
    std::optional<std::string> expected = parseVersion(*if_match);
    if (!expected) return done(fail(ErrorCode::kPreconditionFailed, std::string(condition)));
    requireVersion(body, *expected);
  }
  api_->call("DeleteItem", body, condition.empty(),
             [table = table_, condition, done = std::move(done)](Result<json> answer) {
               if (!answer)
                 return done(tl::unexpected(callError(answer.error(), table, condition)));
               done({});
             });
}

void DynamoDbKvStore::list(KvListRequest request, Done<KvListResult> done) {
  if (request.limit < 1 || request.limit > kMaxListLimit) {
    return done(fail(ErrorCode::kInvalidArgument, "limit must be 1..1000"));
  }
  if (request.prefix.size() > kMaxKey || !validUtf8(request.prefix)) {
    return done(fail(ErrorCode::kInvalidArgument, "a prefix holds up to 512 bytes of UTF-8"));
  }
  json values = {{":p", {{"S", std::string(kPartition)}}}};
  std::string condition = "pk = :p";
  // DynamoDB refuses an empty string in begins_with: no prefix is the whole partition.
  if (!request.prefix.empty()) {
    condition += " AND begins_with(sk, :prefix)";
    values[":prefix"] = {{"S", request.prefix}};
  }
  // One item more than asked for tells whether another page follows.
  json body = {{"TableName", table_},
               {"KeyConditionExpression", condition},
               {"ExpressionAttributeValues", std::move(values)},
               {"ConsistentRead", true},
               {"Limit", request.limit + 1}};
  if (!request.cursor.empty()) {
    Result<std::string> after = resumeAfter(request.cursor, request.prefix);
    if (!after) return done(tl::unexpected(after.error()));
    body["ExclusiveStartKey"] = itemKey(*after);
  }
  api_->call("Query", body, true,
             [table = table_, limit = request.limit, done = std::move(done)](Result<json> answer) {
               if (!answer) return done(tl::unexpected(callError(answer.error(), table, "")));
               KvListResult result;
               for (const json& item : member(*answer, "Items")) {
                 if (static_cast<int>(result.items.size()) == limit) {
                   result.next_cursor = local::encodeCursor(result.items.back().key + '\0');
                   break;
                 }
                 Result<KvItem> decoded = itemOf(item);
                 if (!decoded) return done(tl::unexpected(decoded.error()));
                 result.items.push_back(std::move(*decoded));
               }
               // DynamoDB ends an answer at 1 MB too: the page is shorter, and more follow.
               const std::string last =
                   text(member(member(*answer, "LastEvaluatedKey"), "sk"), "S");
               if (!result.next_cursor && !last.empty()) {
                 result.next_cursor = local::encodeCursor(last + '\0');
               }
               done(std::move(result));
             });
}

bool validTableName(std::string_view name) {
  if (name.size() < 3 || name.size() > 255) return false;
  return name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
         std::string_view::npos;
}

/// kInvalidArgument unless the table's key is `pk` (S) + `sk` (S).
Result<void> checkKeySchema(const json& table, const std::string& name) {
  std::map<std::string, std::string> types;
  for (const json& definition : member(table, "AttributeDefinitions"))
    types[text(definition, "AttributeName")] = text(definition, "AttributeType");
  std::string hash;
  std::string range;
  for (const json& key : member(table, "KeySchema")) {
    (text(key, "KeyType") == "HASH" ? hash : range) = text(key, "AttributeName");
  }
  if (hash == "pk" && range == "sk" && types["pk"] == "S" && types["sk"] == "S") return {};
  return fail(
      ErrorCode::kInvalidArgument,
      fmt::format("DynamoDB table \"{}\" has the key {} ({}){}; aws.dynamodb needs "
                  "partition key pk (S) and sort key sk (S)",
                  name, hash, types[hash],
                  range.empty() ? std::string() : fmt::format(" + {} ({})", range, types[range])));
}

/// Checks the table's key schema, creating the table first when it is missing and `create`
/// is set. An endpoint that does not answer now is no reason to refuse the start: the calls
/// say Unavailable until it does.
Result<void> checkTable(aws::JsonApi& api, const std::string& table, bool create) {
  const json describe_table = {{"TableName", table}};
  Result<json> found = api.callAndWait("DescribeTable", describe_table, true);
  if (!found && found.error().code == ErrorCode::kNotFound && create) {
    const json definition = {{"TableName", table},
                             {"AttributeDefinitions",
                              {{{"AttributeName", "pk"}, {"AttributeType", "S"}},
                               {{"AttributeName", "sk"}, {"AttributeType", "S"}}}},
                             {"KeySchema",
                              {{{"AttributeName", "pk"}, {"KeyType", "HASH"}},
                               {{"AttributeName", "sk"}, {"KeyType", "RANGE"}}}},
                             {"BillingMode", "PAY_PER_REQUEST"}};
    Result<json> created = api.callAndWait("CreateTable", definition, false);
    if (!created && created.error().code != ErrorCode::kAlreadyExists) {
      return fail(created.error().code, fmt::format("creating DynamoDB table \"{}\": {}", table,
                                                    created.error().message));
    }
    for (int i = 0; i < kActiveChecks; ++i) {
      found = api.callAndWait("DescribeTable", describe_table, true);
      if (!found || text(member(*found, "Table"), "TableStatus") == "ACTIVE") break;
      std::this_thread::sleep_for(kActivePause);
    }
  }
  if (!found) {
    const ErrorCode code = found.error().code;
    if (code == ErrorCode::kUnavailable || code == ErrorCode::kThrottled) return {};
    return fail(code, fmt::format("DynamoDB table \"{}\": {}{}", table, found.error().message,
                                  code == ErrorCode::kNotFound
                                      ? " (create it, or set create: true for development)"
                                      : ""));
  }
  return checkKeySchema(member(*found, "Table"), table);
}

} // namespace

Result<std::unique_ptr<KvStore>> openKvStore(const BackendSpec& spec, const KvStoreConfig&,
                                             const BackendContext& context) {
  static const std::set<std::string> keys = {"region", "table", "endpoint", "create"};
  for (const auto& [key, value] : spec.params) {
    if (keys.count(key) == 0) {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("aws.dynamodb: unknown key \"{}\" (region, table, endpoint, create)", key));
    }
  }
  const std::string region = spec.param("region");
  if (region.empty()) return fail(ErrorCode::kInvalidArgument, "aws.dynamodb: region is required");
  const std::string table = spec.param("table");
  if (!validTableName(table)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("aws.dynamodb: table \"{}\" is not a DynamoDB table name (3..255 of "
                            "a-z A-Z 0-9 _ . -)",
                            table));
  }
  const std::string create = spec.param("create");
  if (!create.empty() && create != "true" && create != "false") {
    return fail(ErrorCode::kInvalidArgument, "aws.dynamodb: create is true or false");
  }
  if (context.cloud == nullptr) {
    return fail(ErrorCode::kInternal, "aws.dynamodb: the host gave no HTTP client and credentials");
  }
  Result<aws::CredentialsProvider*> credentials = context.cloud->awsCredentials();
  if (!credentials) return tl::unexpected(credentials.error());
  std::string endpoint = spec.param("endpoint");
  if (endpoint.empty()) endpoint = fmt::format("https://dynamodb.{}.amazonaws.com", region);
  while (endpoint.ends_with('/'))
    endpoint.pop_back();
  auto api = std::make_unique<aws::JsonApi>(context.cloud->http(), **credentials,
                                            aws::ServiceEndpoint{endpoint, region, "dynamodb"},
                                            "DynamoDB_20120810");
  if (auto ok = checkTable(*api, table, create == "true"); !ok) return tl::unexpected(ok.error());
  return std::make_unique<DynamoDbKvStore>(std::move(api), table);
}

} // namespace exoflow::backend::aws_dynamodb
