// The peer KvStore: each call is the Exo API's table call at the peer. Values travel as the
// JSON text they are (never parsed into numbers), so no digit is lost on the way.

#include <fmt/format.h>

#include "backend/peer/peer_link.h"
#include "client/json_scan.h"

namespace exoflow::backend::peer {
namespace {

namespace scan = client::detail;

/// The raw text of a member of a JSON object, or "" when absent.
std::string_view rawMember(const std::vector<scan::RawMember>& members, std::string_view name) {
  for (const scan::RawMember& m : members) {
    if (m.name == name) return m.value;
  }
  return {};
}

/// A string member decoded; nullopt when absent or not a string.
std::optional<std::string> stringMember(const std::vector<scan::RawMember>& members,
                                        std::string_view name) {
  std::string out;
  if (!scan::decodeString(rawMember(members, name), out)) return std::nullopt;
  return out;
}

Error notTheApi() {
  return {ErrorCode::kUnavailable, "peer: the answer is not the API's JSON"};
}

/// A listing's body: {"items": [{"key", "value", "version"}], "next_cursor": "..." | null}.
Result<KvListResult> parseList(std::string_view text) {
  std::vector<scan::RawMember> top;
  std::vector<std::string_view> items;
  if (!scan::splitObject(text, top) || !scan::splitArray(rawMember(top, "items"), items)) {
    return tl::unexpected(notTheApi());
  }
  KvListResult out;
  for (std::string_view item : items) {
    std::vector<scan::RawMember> fields;
    if (!scan::splitObject(item, fields)) return tl::unexpected(notTheApi());
    auto key = stringMember(fields, "key");
    auto version = stringMember(fields, "version");
    const std::string_view value = rawMember(fields, "value");
    if (!key || !version || value.empty()) return tl::unexpected(notTheApi());
    out.items.push_back({std::move(*key), std::string(value), std::move(*version)});
  }
  out.next_cursor = stringMember(top, "next_cursor");
  return out;
}

class PeerKvStore final : public KvStore {
public:
  explicit PeerKvStore(Link link) : link_(std::move(link)) {}

  std::string describe() const override { return link_.describe(); }
  /// What the API promises for every table.
  KvFeatures features() const override {
    return {KvFeature::kConditionalWrites, KvFeature::kPrefixList, KvFeature::kLargeValues};
  }

  void put(KvPutRequest r, Done<std::string> done) override {
    net::HttpRequest request = link_.request("PUT", "/items/" + encodeSegment(r.key));
    request.headers.emplace_back("Content-Type", "application/json");
    if (r.if_match) request.headers.emplace_back("If-Match", fmt::format("\"{}\"", *r.if_match));
    if (r.if_none_match_star) request.headers.emplace_back("If-None-Match", "*");
    request.body = std::move(r.value);
    link_.send(std::move(request), [done = std::move(done)](auto answer) {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 200) return done(tl::unexpected(answerError(*answer)));
      std::vector<scan::RawMember> fields;
      std::optional<std::string> version;
      if (scan::splitObject(answer->body, fields)) version = stringMember(fields, "version");
      if (!version) return done(tl::unexpected(notTheApi()));
      done(std::move(*version));
    });
  }

  void get(std::string key, Done<KvItem> done) override {
    link_.send(link_.request("GET", "/items/" + encodeSegment(key)),
               [key, done = std::move(done)](auto answer) mutable {
                 if (!answer) return done(tl::unexpected(answer.error()));
                 if (answer->status != 200) return done(tl::unexpected(answerError(*answer)));
                 const std::string etag = answer->header("etag");
                 if (etag.empty()) return done(tl::unexpected(notTheApi()));
                 done(KvItem{std::move(key), std::move(answer->body), unquote(etag)});
               });
  }

  void remove(std::string key, std::optional<std::string> if_match, Done<void> done) override {
    net::HttpRequest request = link_.request("DELETE", "/items/" + encodeSegment(key));
    if (if_match) {
      request.headers.emplace_back("If-Match", fmt::format("\"{}\"", *if_match));
    } else {
      request.idempotent = true; // an unconditional delete may be repeated
    }
    link_.send(std::move(request), [done = std::move(done)](auto answer) {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 204) return done(tl::unexpected(answerError(*answer)));
      done(Result<void>{});
    });
  }

  void list(KvListRequest r, Done<KvListResult> done) override {
    std::string query = fmt::format("/items?limit={}", r.limit);
    if (!r.prefix.empty()) query += "&prefix=" + encodeSegment(r.prefix);
    if (!r.cursor.empty()) query += "&cursor=" + encodeSegment(r.cursor);
    link_.send(link_.request("GET", query), [done = std::move(done)](auto answer) {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 200) return done(tl::unexpected(answerError(*answer)));
      done(parseList(answer->body));
    });
  }

private:
  Link link_;
};

} // namespace

Result<std::unique_ptr<KvStore>> openKvStore(const BackendSpec& spec, const KvStoreConfig& config,
                                             const BackendContext& context) {
  const std::string name = spec.param("name").empty() ? config.name : spec.param("name");
  auto link = Link::open(spec, "tables", name, context);
  if (!link) return tl::unexpected(link.error());
  return std::make_unique<PeerKvStore>(std::move(*link));
}

} // namespace exoflow::backend::peer
