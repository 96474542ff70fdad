#include "backend/local/queue_db.h"

#include <limits>

#include "backend/local/codec.h"

namespace exoflow::backend::local {
namespace {

// Version 1 receipts named the message id, looked up through an index that every send and
// delete paid for; they are refused (NotFound) and their messages come back when their
// visibility ends, as for any unanswered receipt.
constexpr char kReceiptVersion = 2;
constexpr std::size_t kReceiptBytes = 17;
constexpr std::int64_t kDedupWindowMs = std::int64_t{5} * 60 * 1000;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, -- send order, never reused
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  body BLOB NOT NULL,
  attributes BLOB NOT NULL,              -- codec.h encodeMap()
  sent_at INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  receive_count INTEGER NOT NULL DEFAULT 0,
  token INTEGER NOT NULL DEFAULT 0       -- the current delivery; 0 before the first
);
CREATE INDEX IF NOT EXISTS messages_by_seq ON messages (queue, seq, visible_at);
CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (queue, visible_at);
CREATE INDEX IF NOT EXISTS messages_by_age ON messages (queue, sent_at);
DROP INDEX IF EXISTS messages_by_id;
CREATE TABLE IF NOT EXISTS dedup (
  queue TEXT NOT NULL,
  dedup_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  accepted_at INTEGER NOT NULL,
  PRIMARY KEY (queue, dedup_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedup_by_age ON dedup (accepted_at);
)sql";

/// A fresh delivery token: random and never 0 (0 marks "never delivered").
Result<std::int64_t> newToken() {
  Result<std::string> bytes = randomBytes(8);
  if (!bytes) return tl::unexpected(bytes.error());
  std::uint64_t token = 0;
  for (char c : *bytes)
    token = (token << 8) | static_cast<unsigned char>(c);
  if (token == 0) token = 1;
  return static_cast<std::int64_t>(token);
}

struct Candidate {
  std::int64_t seq = 0;
  std::string id;
  std::string body;
  std::string attributes;
  int receive_count = 0;
};

} // namespace

namespace {

void appendBigEndian(std::string& out, std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8)
    out += static_cast<char>((bits >> shift) & 0xff);
}

std::int64_t readBigEndian(std::string_view bytes) {
  std::uint64_t bits = 0;
  for (char c : bytes.substr(0, 8))
    bits = (bits << 8) | static_cast<unsigned char>(c);
  return static_cast<std::int64_t>(bits);
}

} // namespace

std::string encodeReceipt(const Delivery& delivery) {
  std::string raw(1, kReceiptVersion);
  appendBigEndian(raw, delivery.seq);
  appendBigEndian(raw, delivery.token);
  return base64UrlEncode(raw);
}

std::optional<Delivery> decodeReceipt(std::string_view receipt) {
  std::optional<std::string> raw = base64UrlDecode(receipt);
  if (!raw || raw->size() != kReceiptBytes || (*raw)[0] != kReceiptVersion) return std::nullopt;
  const std::string_view bytes(*raw);
  Delivery delivery{readBigEndian(bytes.substr(1, 8)), readBigEndian(bytes.substr(9, 8))};
  if (delivery.seq <= 0 || delivery.token == 0) return std::nullopt;
  return delivery;
}

Result<QueueDb> QueueDb::open(const std::filesystem::path& file) {
  Result<Database> db = Database::open(file);
  if (!db) return tl::unexpected(db.error());
  if (auto ok = db->exec(kSchema); !ok) return tl::unexpected(ok.error());
  return QueueDb(std::move(*db));
}

Result<std::vector<std::string>>
QueueDb::send(std::string_view queue, const std::vector<OutgoingMessage>& batch, std::int64_t now) {
  Result<Transaction> txn = Transaction::begin(db_);
  if (!txn) return tl::unexpected(txn.error());
  {
    Result<Query> purge = db_.query("DELETE FROM dedup WHERE accepted_at <= ?1");
    if (!purge) return tl::unexpected(purge.error());
    if (auto ok = purge->bind(1, now - kDedupWindowMs).run(); !ok)
      return tl::unexpected(ok.error());
  }
  std::vector<std::string> ids;
  ids.reserve(batch.size());
  for (const OutgoingMessage& message : batch) {
    if (message.dedup_id) {
      Result<Query> seen =
          db_.query("SELECT message_id FROM dedup WHERE queue = ?1 AND dedup_id = ?2");
      if (!seen) return tl::unexpected(seen.error());
      seen->bindText(1, queue).bindText(2, *message.dedup_id);
      Result<bool> row = seen->step();
      if (!row) return tl::unexpected(row.error());
      if (*row) {
        ids.push_back(seen->bytes(0));
        continue;
      }
    }
    Result<std::string> id = randomId();
    if (!id) return tl::unexpected(id.error());
    Result<Query> insert =
        db_.query("INSERT INTO messages (queue, id, body, attributes, sent_at, visible_at) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?5)");
    if (!insert) return tl::unexpected(insert.error());
    insert->bindText(1, queue).bindText(2, *id).bindBlob(3, message.body);
    insert->bindBlob(4, encodeMap(message.attributes)).bind(5, now);
    if (auto ok = insert->run(); !ok) return tl::unexpected(ok.error());
    if (message.dedup_id) {
      Result<Query> remember = db_.query(
          "INSERT INTO dedup (queue, dedup_id, message_id, accepted_at) VALUES (?1, ?2, ?3, ?4)");
      if (!remember) return tl::unexpected(remember.error());
      remember->bindText(1, queue).bindText(2, *message.dedup_id).bindText(3, *id).bind(4, now);
      if (auto ok = remember->run(); !ok) return tl::unexpected(ok.error());
    }
    ids.push_back(std::move(*id));
  }
  if (auto ok = txn->commit(); !ok) return tl::unexpected(ok.error());
  return ids;
}

Result<void> QueueDb::dropExpired(const QueueConfig& config, std::int64_t now) {
  const std::int64_t retention_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.options.retention).count();
  Result<Query> drop = db_.query("DELETE FROM messages WHERE queue = ?1 AND sent_at <= ?2");
  if (!drop) return tl::unexpected(drop.error());
  return drop->bindText(1, config.name).bind(2, now - retention_ms).run();
}

Result<ReceiveOutcome> QueueDb::receive(const QueueConfig& config, int max,
                                        std::int64_t visibility_ms, std::int64_t now) {
  Result<Transaction> txn = Transaction::begin(db_);
  if (!txn) return tl::unexpected(txn.error());
  if (auto ok = dropExpired(config, now); !ok) return tl::unexpected(ok.error());

  // A FIFO queue is one message group: nothing past a message in flight is delivered.
  std::int64_t fence = std::numeric_limits<std::int64_t>::max();
  if (config.options.fifo) {
    Result<Query> head =
        db_.query("SELECT MIN(seq) FROM messages WHERE queue = ?1 AND visible_at > ?2");
    if (!head) return tl::unexpected(head.error());
    head->bindText(1, config.name).bind(2, now);
    Result<bool> row = head->step();
    if (!row) return tl::unexpected(row.error());
    if (*row && !head->isNull(0)) fence = head->integer(0);
  }

  ReceiveOutcome outcome;
  std::int64_t after_seq = 0;
  const std::optional<int>& dead_letter_after = config.options.dead_letter_after;
  while (static_cast<int>(outcome.messages.size()) < max) {
    std::vector<Candidate> candidates;
    {
      Result<Query> select = db_.query(
          "SELECT seq, id, body, attributes, receive_count FROM messages "
          "WHERE queue = ?1 AND seq > ?2 AND seq < ?3 AND visible_at <= ?4 ORDER BY seq LIMIT ?5");
      if (!select) return tl::unexpected(select.error());
      select->bindText(1, config.name).bind(2, after_seq).bind(3, fence).bind(4, now);
      select->bind(5, max - static_cast<int>(outcome.messages.size()));
      while (true) {
        Result<bool> row = select->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        candidates.push_back(Candidate{select->integer(0), select->bytes(1), select->bytes(2),
                                       select->bytes(3), static_cast<int>(select->integer(4))});
      }
    }
    if (candidates.empty()) break;
    for (Candidate& candidate : candidates) {
      after_seq = candidate.seq;
      if (dead_letter_after && candidate.receive_count >= *dead_letter_after) {
        // Received `after` times already: this would be one more, so it moves instead. It
        // keeps its id, send time and receive count, as SQS does.
        Result<Query> move =
            db_.query("UPDATE messages SET queue = ?1, visible_at = ?2, token = 0 WHERE seq = ?3");
        if (!move) return tl::unexpected(move.error());
        move->bindText(1, config.options.dead_letter_queue).bind(2, now).bind(3, candidate.seq);
        if (auto ok = move->run(); !ok) return tl::unexpected(ok.error());
        outcome.dead_lettered = true;
        continue;
      }
      Result<std::int64_t> token = newToken();
      if (!token) return tl::unexpected(token.error());
      Result<Query> deliver = db_.query(
          "UPDATE messages SET visible_at = ?1, receive_count = receive_count + 1, token = ?2 "
          "WHERE seq = ?3");
      if (!deliver) return tl::unexpected(deliver.error());
      deliver->bind(1, now + visibility_ms).bind(2, *token).bind(3, candidate.seq);
      if (auto ok = deliver->run(); !ok) return tl::unexpected(ok.error());
      std::optional<Attributes> attributes = decodeMap(candidate.attributes);
      if (!attributes) return fail(ErrorCode::kInternal, "corrupt message attributes");
      outcome.messages.push_back(ReceivedMessage{
          candidate.id, encodeReceipt(Delivery{candidate.seq, *token}), std::move(candidate.body),
          std::move(*attributes), candidate.receive_count + 1});
    }
  }
  if (auto ok = txn->commit(); !ok) return tl::unexpected(ok.error());
  return outcome;
}

Result<bool> QueueDb::remove(std::string_view queue, const Delivery& delivery) {
  Result<Query> drop =
      db_.query("DELETE FROM messages WHERE seq = ?2 AND queue = ?1 AND token = ?3");
  if (!drop) return tl::unexpected(drop.error());
  drop->bindText(1, queue).bind(2, delivery.seq).bind(3, delivery.token);
  if (auto ok = drop->run(); !ok) return tl::unexpected(ok.error());
  return db_.changes() == 1;
}

Result<std::vector<bool>> QueueDb::removeAll(std::string_view queue,
                                             const std::vector<Delivery>& deliveries) {
  Result<Transaction> txn = Transaction::begin(db_);
  if (!txn) return tl::unexpected(txn.error());
  std::vector<bool> removed;
  removed.reserve(deliveries.size());
  for (const Delivery& delivery : deliveries) {
    Result<bool> one = remove(queue, delivery);
    if (!one) return tl::unexpected(one.error());
    removed.push_back(*one);
  }
  if (auto ok = txn->commit(); !ok) return tl::unexpected(ok.error());
  return removed;
}

Result<bool> QueueDb::setVisibleAt(std::string_view queue, const Delivery& delivery,
                                   std::int64_t visible_at) {
  Result<Query> update =
      db_.query("UPDATE messages SET visible_at = ?4 WHERE seq = ?2 AND queue = ?1 AND token = ?3");
  if (!update) return tl::unexpected(update.error());
  update->bindText(1, queue).bind(2, delivery.seq).bind(3, delivery.token);
  update->bind(4, visible_at);
  if (auto ok = update->run(); !ok) return tl::unexpected(ok.error());
  return db_.changes() == 1;
}

Result<QueueStats> QueueDb::stats(const QueueConfig& config, std::int64_t now) {
  Result<Transaction> txn = Transaction::begin(db_);
  if (!txn) return tl::unexpected(txn.error());
  if (auto ok = dropExpired(config, now); !ok) return tl::unexpected(ok.error());
  QueueStats stats;
  {
    Result<Query> count =
        db_.query("SELECT COALESCE(SUM(visible_at <= ?2), 0), COALESCE(SUM(visible_at > ?2), 0) "
                  "FROM messages WHERE queue = ?1");
    if (!count) return tl::unexpected(count.error());
    count->bindText(1, config.name).bind(2, now);
    Result<bool> row = count->step();
    if (!row) return tl::unexpected(row.error());
    stats.approximate_messages = count->integer(0);
    stats.approximate_in_flight = count->integer(1);
  }
  if (auto ok = txn->commit(); !ok) return tl::unexpected(ok.error());
  return stats;
}

Result<std::optional<std::int64_t>> QueueDb::nextVisibleAt(std::string_view queue,
                                                           std::int64_t now) {
  Result<Query> next =
      db_.query("SELECT MIN(visible_at) FROM messages WHERE queue = ?1 AND visible_at > ?2");
  if (!next) return tl::unexpected(next.error());
  next->bindText(1, queue).bind(2, now);
  Result<bool> row = next->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row || next->isNull(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(next->integer(0));
}

} // namespace exoflow::backend::local
