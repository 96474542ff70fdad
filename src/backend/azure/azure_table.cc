// azure.table: see azure_table.h. Every call is one Table request made through StorageApi
// (a listing, one per page Azure gives); completions run on the shared HTTP client's thread.

#include "backend/azure/azure_table.h"

#include <utility>

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backend/azure/names.h"
#include "backend/azure/storage_api.h"
#include "backend/cloud.h"
#include "backend/local/codec.h"

namespace exoflow::backend::azure_table {
namespace {

using azure::Call;
using azure::StorageApi;
using nlohmann::json;

constexpr const char* kPartition = "exo";
/// Bytes of a value per property: at most 64 KiB once Azure holds it as UTF-16.
constexpr std::size_t kChunk = 30000;
constexpr int kMaxChunks = 64;

const net::Headers& jsonHeaders() {
  static const net::Headers headers = {{"Accept", "application/json;odata=minimalmetadata"},
                                       {"DataServiceVersion", "3.0;NetFx"},
                                       {"MaxDataServiceVersion", "3.0;NetFx"}};
  return headers;
}

Call tableCall(std::string method, std::string path, std::string body = "",
               bool idempotent = true) {
  Call call{std::move(method), std::move(path), {}, jsonHeaders(), std::move(body), idempotent};
  if (!call.body.empty()) call.headers.emplace_back("Content-Type", "application/json");
  return call;
}

std::string rowKey(std::string_view key) {
  return azure::storedName(key, azure::NameRules::kTable);
}

/// A string literal of an OData filter or key: quotes doubled.
std::string literal(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

/// The value's properties: chunks cut between UTF-8 characters.
json entityOf(const std::string& row_key, std::string_view value) {
  json entity = {{"PartitionKey", kPartition}, {"RowKey", row_key}};
  int n = 0;
  while (!value.empty()) {
    std::size_t cut = std::min(kChunk, value.size());
    while (cut < value.size() && cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80)
      --cut;
    entity[fmt::format("v{}", n++)] = std::string(value.substr(0, cut));
    value.remove_prefix(cut);
  }
  entity["n"] = n;
  return entity;
}

const json& member(const json& j, const std::string& key) {
  static const json nothing;
  if (!j.is_object()) return nothing;
  auto it = j.find(key);
  return it == j.end() ? nothing : *it;
}

/// The item an entity holds; nullopt for an entity this backend did not write.
std::optional<KvItem> itemOf(const json& entity, std::string version) {
  const json& row = member(entity, "RowKey");
  const json& count = member(entity, "n");
  if (!row.is_string() || !count.is_number_integer()) return std::nullopt;
  std::optional<std::string> key =
      azure::keyOfName(row.get<std::string>(), azure::NameRules::kTable);
  if (!key) return std::nullopt;
  KvItem item;
  item.key = std::move(*key);
  const int n = count.get<int>();
  for (int i = 0; i < n && i < kMaxChunks; ++i) {
    const json& chunk = member(entity, fmt::format("v{}", i));
    if (!chunk.is_string()) return std::nullopt;
    item.value += chunk.get<std::string>();
  }
  item.version = std::move(version);
  return item;
}

std::string versionOf(const net::HttpResponse& response) {
  return local::base64UrlEncode(response.header("etag"));
}

/// The ETag a version names; nullopt for one never issued here.
std::optional<std::string> etagOf(const std::string& version) {
  std::optional<std::string> etag = local::base64UrlDecode(version);
  if (!etag || etag->empty()) return std::nullopt;
  return etag;
}

/// A listing in progress: the range of natural RowKeys, then the range of escaped ones, each
/// read up to one item past the page (Azure may answer in parts, with continuations) and merged
/// in key order into `items`; the page is then the first of them.
struct Listing {
  std::shared_ptr<StorageApi> api;
  std::string table;
  std::vector<std::string> filters; ///< the ranges still to read, the current one first
  int limit = 0;
  std::size_t range_start = 0; ///< where the current range's items begin in `items`
  std::vector<KvItem> items;
  Done<KvListResult> done;
};

void finishListing(Listing& listing) {
  KvListResult result;
  if (listing.items.size() > static_cast<std::size_t>(listing.limit)) {
    // The one past the page: where the next page starts.
    result.next_cursor = local::encodeCursor(listing.items[listing.limit].key);
    listing.items.resize(listing.limit);
  }
  result.items = std::move(listing.items);
  listing.done(std::move(result));
}

/// Whether the current range has given one item past the page.
bool rangeRead(const Listing& listing) {
  return listing.items.size() - listing.range_start > static_cast<std::size_t>(listing.limit);
}

void listPage(std::shared_ptr<Listing> listing, std::string next_partition, std::string next_row) {
  if (listing->filters.empty()) return finishListing(*listing);
  const std::size_t read = listing->items.size() - listing->range_start;
  Call call = tableCall("GET", "/" + listing->table + "()");
  // One more than asked: whether a next page exists without another call.
  call.query = {{"$filter", listing->filters.front()},
                {"$top", std::to_string(static_cast<std::size_t>(listing->limit) + 1 - read)}};
  if (!next_partition.empty()) call.query.emplace_back("NextPartitionKey", next_partition);
  if (!next_row.empty()) call.query.emplace_back("NextRowKey", next_row);
  StorageApi& api = *listing->api;
  api.send(std::move(call), [listing = std::move(listing)](Result<net::HttpResponse> r) mutable {
    if (!r) return listing->done(tl::unexpected(r.error()));
    const json body = json::parse(r->body, nullptr, false);
    const json& entities = member(body, "value");
    if (!entities.is_array()) {
      return listing->done(fail(ErrorCode::kUnavailable, "Query Entities: no value array"));
    }
    for (const json& entity : entities) {
      if (rangeRead(*listing)) break;
      std::string etag = local::base64UrlEncode(
          member(entity, "odata.etag").is_string() ? member(entity, "odata.etag").get<std::string>()
                                                   : std::string());
      std::optional<KvItem> item = itemOf(entity, std::move(etag));
      if (item) listing->items.push_back(std::move(*item));
    }
    std::string partition = r->header("x-ms-continuation-nextpartitionkey");
    std::string row = r->header("x-ms-continuation-nextrowkey");
    if (!rangeRead(*listing) && (!partition.empty() || !row.empty())) {
      return listPage(std::move(listing), std::move(partition), std::move(row));
    }
    // This range is read: merged with the one before, and on to the next.
    auto middle = listing->items.begin() + static_cast<std::ptrdiff_t>(listing->range_start);
    std::inplace_merge(listing->items.begin(), middle, listing->items.end(),
                       [](const KvItem& a, const KvItem& b) { return a.key < b.key; });
    listing->range_start = listing->items.size();
    listing->filters.erase(listing->filters.begin());
    listPage(std::move(listing), "", "");
  });
}

/// The filters of the two ranges a listing of `prefix` from `start` reads: natural RowKeys from
/// `start` to the end of the prefix, and escaped ones over the same keys.
std::vector<std::string> listingFilters(const std::string& prefix, const std::string& start) {
  const std::string partition = "PartitionKey eq " + literal(kPartition);
  std::vector<std::string> filters;
  if (azure::naturalNameCanStartWith(prefix, azure::NameRules::kTable)) {
    std::string natural = partition;
    if (!start.empty()) natural += " and RowKey ge " + literal(start);
    if (std::optional<std::string> end = azure::naturalPrefixEnd(prefix)) {
      natural += " and RowKey lt " + literal(*end);
    }
    if (prefix.empty()) {
      // Escaped names start with '~', and no natural name with U+007F..U+009F.
      natural += fmt::format(" and (RowKey lt {} or RowKey ge {})",
                             literal(std::string(1, azure::kEscapeMark)), literal("\xC2\xA0"));
    }
    filters.push_back(std::move(natural));
  }
  // Letter pairs are A-P and a-p: every escaped name that starts with the prefix's is below "q".
  filters.push_back(fmt::format("{} and RowKey ge {} and RowKey lt {}", partition,
                                literal(azure::escapedName(start)),
                                literal(azure::escapedName(prefix) + "q")));
  return filters;
}

class AzureTable final : public KvStore {
public:
  AzureTable(std::shared_ptr<StorageApi> api, std::string table, std::string location)
      : api_(std::move(api)), table_(std::move(table)), location_(std::move(location)) {}

  std::string describe() const override { return fmt::format("{}:{}", kType, location_); }
  KvFeatures features() const override {
    return {KvFeature::kConditionalWrites, KvFeature::kPrefixList, KvFeature::kLargeValues};
  }

  void put(KvPutRequest request, Done<std::string> done) override {
    const std::string row = rowKey(request.key);
    const std::string body =
        entityOf(row, request.value).dump(-1, ' ', false, json::error_handler_t::replace);
    const bool conditional = request.if_match || request.if_none_match_star;
    Call call = request.if_none_match_star ? tableCall("POST", "/" + table_, body, false)
                                           : tableCall("PUT", entityPath(row), body, true);
    if (request.if_none_match_star) call.headers.emplace_back("Prefer", "return-no-content");
    if (request.if_match) {
      std::optional<std::string> etag = etagOf(*request.if_match);
      if (!etag) return done(fail(ErrorCode::kPreconditionFailed, "the version does not match"));
      call.headers.emplace_back("If-Match", *etag);
    }
    api_->send(std::move(call), [conditional, done = std::move(done)](Result<net::HttpResponse> r) {
      if (!r) {
        // Insert over an existing entity (409), or an If-Match over a changed
        // (412) or missing (404) one.
        const ErrorCode code = r.error().code;
        if (conditional && (code == ErrorCode::kAlreadyExists || code == ErrorCode::kNotFound ||
                            code == ErrorCode::kPreconditionFailed)) {
          return done(fail(ErrorCode::kPreconditionFailed, r.error().message));
        }
        return done(tl::unexpected(r.error()));
      }
      done(versionOf(*r));
    });
  }

  void get(std::string key, Done<KvItem> done) override {
    api_->send(tableCall("GET", entityPath(rowKey(key))),
               [done = std::move(done)](Result<net::HttpResponse> r) {
                 if (!r) return done(tl::unexpected(r.error()));
                 std::optional<KvItem> item =
                     itemOf(json::parse(r->body, nullptr, false), versionOf(*r));
                 if (!item) {
                   return done(fail(ErrorCode::kInternal, "an entity this backend did not write"));
                 }
                 done(std::move(*item));
               });
  }

  void remove(std::string key, std::optional<std::string> if_match, Done<void> done) override {
    Call call = tableCall("DELETE", entityPath(rowKey(key)));
    if (if_match) {
      std::optional<std::string> etag = etagOf(*if_match);
      if (!etag) return done(fail(ErrorCode::kPreconditionFailed, "the version does not match"));
      call.headers.emplace_back("If-Match", *etag);
    } else {
      call.headers.emplace_back("If-Match", "*");
    }
    const bool conditional = if_match.has_value();
    api_->send(std::move(call), [conditional, done = std::move(done)](Result<net::HttpResponse> r) {
      if (!r) {
        if (r.error().code == ErrorCode::kNotFound) {
          if (!conditional) return done({}); // deleting what is not there succeeds
          return done(fail(ErrorCode::kPreconditionFailed, r.error().message));
        }
        return done(tl::unexpected(r.error()));
      }
      done({});
    });
  }

  void list(KvListRequest request, Done<KvListResult> done) override {
    if (request.limit < 1 || request.limit > 1000) {
      return done(fail(ErrorCode::kInvalidArgument, "limit must be 1..1000"));
    }
    std::string start = request.prefix;
    if (!request.cursor.empty()) {
      Result<std::string> resume = local::decodeCursor(request.cursor);
      if (!resume) return done(tl::unexpected(resume.error()));
      if (!resume->starts_with(request.prefix)) {
        return done(fail(ErrorCode::kInvalidArgument, "the cursor belongs to another prefix"));
      }
      start = std::move(*resume);
    }
    auto listing = std::make_shared<Listing>();
    listing->api = api_;
    listing->table = table_;
    listing->filters = listingFilters(request.prefix, start);
    listing->limit = request.limit;
    listing->done = std::move(done);
    listPage(std::move(listing), "", "");
  }

private:
  std::string entityPath(const std::string& row) const {
    return fmt::format("/{}(PartitionKey={},RowKey={})", table_, literal(kPartition),
                       azure::percentEncode(literal(row), false));
  }

  std::shared_ptr<StorageApi> api_;
  std::string table_;
  std::string location_;
};

/// Azure's rule for table names: 3-63 letters and digits, starting with a letter.
bool validTableName(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  if (!std::isalpha(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

} // namespace

Result<std::unique_ptr<KvStore>> openKvStore(const BackendSpec& spec, const KvStoreConfig& config,
                                             const BackendContext& context) {
  (void)config;
  static const std::set<std::string> keys = {"account", "table", "endpoint", "create"};
  for (const auto& [key, value] : spec.params) {
    if (keys.count(key) == 0) {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("azure.table: unknown key \"{}\" (account, table, endpoint, create)", key));
    }
  }
  const std::string account = spec.param("account");
  const std::string table = spec.param("table");
  if (account.empty() || table.empty()) {
    return fail(ErrorCode::kInvalidArgument, "azure.table: account and table are required");
  }
  if (!validTableName(table)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("azure.table: \"{}\" is not a valid Azure table name (3-63 letters "
                            "and digits, starting with a letter)",
                            table));
  }
  const std::string create = spec.param("create");
  if (!create.empty() && create != "true" && create != "false") {
    return fail(ErrorCode::kInvalidArgument, "azure.table: create is true or false");
  }
  if (context.cloud == nullptr) {
    return fail(ErrorCode::kInternal, "azure.table: the host gave no HTTP client and credentials");
  }
  Result<const azure::Credentials*> credentials = context.cloud->azureCredentials();
  if (!credentials) return tl::unexpected(credentials.error());
  std::string endpoint = spec.param("endpoint");
  if (endpoint.empty())
    endpoint = azure::defaultEndpointUrl(account, azure::StorageService::kTable);
  auto api = std::make_shared<StorageApi>(
      context.cloud->http(), **credentials,
      azure::Endpoint{endpoint, account, azure::StorageService::kTable});
  Result<net::HttpResponse> found =
      api->sendAndWait(tableCall("GET", fmt::format("/Tables('{}')", table)));
  // Unreachable now: the calls answer 503 until it is reachable (the proxy starts, and /readyz
  // tells), unless the table is to be created.
  if (!found && (found.error().code != ErrorCode::kUnavailable || create == "true")) {
    if (found.error().code != ErrorCode::kNotFound || create != "true") {
      return fail(found.error().code,
                  fmt::format("Azure table \"{}\": {}", table, found.error().message));
    }
    Result<net::HttpResponse> created =
        api->sendAndWait(tableCall("POST", "/Tables", json{{"TableName", table}}.dump(), false));
    if (!created && created.error().code != ErrorCode::kAlreadyExists) {
      return fail(created.error().code,
                  fmt::format("creating Azure table \"{}\": {}", table, created.error().message));
    }
  }
  std::string location = context.regionOn("azure");
  if (location.empty()) location = account;
  return std::make_unique<AzureTable>(std::move(api), table, std::move(location));
}

} // namespace exoflow::backend::azure_table
