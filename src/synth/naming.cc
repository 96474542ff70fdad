#include "synth/naming.h"

#include <array>
#include <cstdint>
#include <stdexcept>

#include <fmt/format.h>

namespace exoflow::synth {

namespace {

constexpr std::size_t kHashDigits = 6;

// Sources: the SQS, S3, DynamoDB, RDS, IAM and CloudFormation API references (CreateQueue,
// bucket naming rules, CreateTable, CreateDBInstance, CreateRole, CreateStack) and Azure's
// "Naming rules and restrictions for Azure resources".
constexpr std::array<NameRule, 15> kRules = {{
    {NameKind::kAwsSqsQueue, "SQS queue name", 1, 80, false, "_-", '-', false, false, false},
    {NameKind::kAwsS3Bucket, "S3 bucket name", 3, 63, true, "-", '-', true, true, true},
    {NameKind::kAwsDynamoDbTable, "DynamoDB table name", 3, 255, false, "_.-", '-', false, false,
     false},
    {NameKind::kAwsRdsInstance, "RDS instance identifier", 1, 63, true, "-", '-', true, true, true},
    {NameKind::kAwsRdsDatabase, "RDS database name", 1, 63, true, "_", '_', true, false, false},
    {NameKind::kAwsIamRole, "IAM role name", 1, 64, false, "+=,.@_-", '-', false, false, false},
    {NameKind::kAwsStack, "CloudFormation stack name", 1, 128, false, "-", '-', true, false, false},
    {NameKind::kAzureResourceGroup, "resource group name", 1, 90, false, "_.()-", '-', false, true,
     false},
    {NameKind::kAzureStorageAccount, "storage account name", 3, 24, true, "", '\0', false, false,
     false},
    {NameKind::kAzureQueue, "storage queue name", 3, 63, true, "-", '-', false, true, true},
    {NameKind::kAzureBlobContainer, "blob container name", 3, 63, true, "-", '-', false, true,
     true},
    {NameKind::kAzureTable, "storage table name", 3, 63, false, "", '\0', true, false, false},
    {NameKind::kAzureFlexibleServer, "flexible server name", 3, 63, true, "-", '-', false, true,
     true},
    {NameKind::kAzureKeyVault, "key vault name", 3, 24, false, "-", '-', true, true, true},
    {NameKind::kAzureDatabase, "flexible server database name", 1, 63, true, "_", '_', true, false,
     false},
}};

bool isLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

bool allowed(const NameRule& rule, char c) {
  if (isDigit(c) || (c >= 'a' && c <= 'z')) return true;
  if (c >= 'A' && c <= 'Z') return !rule.lower_only;
  return rule.extra.find(c) != std::string_view::npos;
}

/// Maps every character into the rule and drops separators that would double up.
std::string normalise(const NameRule& rule, std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (rule.lower_only && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!allowed(rule, c)) {
      if (rule.separator == '\0') continue;
      c = rule.separator;
    }
    if (c == rule.separator && rule.no_double_separator && !out.empty() && out.back() == c)
      continue;
    out += c;
  }
  return out;
}

void trimEnd(const NameRule& rule, std::string& name) {
  while (rule.alnum_last && !name.empty() && !isLetter(name.back()) && !isDigit(name.back()))
    name.pop_back();
}

} // namespace

std::span<const NameRule> nameRules() {
  return kRules;
}

const NameRule& nameRule(NameKind kind) {
  for (const NameRule& rule : kRules) {
    if (rule.kind == kind) return rule;
  }
  throw std::logic_error("no name rule for this kind");
}

std::string shortHash(std::string_view text, std::size_t digits) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return fmt::format("{:016x}", hash).substr(0, digits);
}

std::string fitName(NameKind kind, std::initializer_list<std::string_view> parts,
                    std::size_t reserve) {
  const NameRule& rule = nameRule(kind);
  std::string joined;
  for (std::string_view part : parts) {
    if (!joined.empty() && rule.separator != '\0') joined += rule.separator;
    joined += part;
  }
  std::string name = normalise(rule, joined);
  if (rule.letter_first && (name.empty() || !isLetter(name.front()))) name.insert(0, "x");
  const std::size_t budget = rule.max_length - reserve;
  if (name.size() > budget) {
    const std::string hash = shortHash(joined, kHashDigits);
    const std::size_t tail = hash.size() + (rule.separator != '\0' ? 1 : 0);
    name.resize(budget - tail);
    while (!name.empty() && name.back() == rule.separator)
      name.pop_back();
    if (rule.separator != '\0') name += rule.separator;
    name += hash;
  }
  trimEnd(rule, name);
  while (name.size() + reserve < rule.min_length)
    name += '0';
  return name;
}

bool fitsRule(NameKind kind, std::string_view name) {
  const NameRule& rule = nameRule(kind);
  if (name.size() < rule.min_length || name.size() > rule.max_length) return false;
  for (char c : name) {
    if (!allowed(rule, c) && !(c == '.' && kind == NameKind::kAwsSqsQueue)) return false;
  }
  if (rule.letter_first && !isLetter(name.front())) return false;
  if (rule.alnum_last && !isLetter(name.back()) && !isDigit(name.back())) return false;
  if (rule.no_double_separator && rule.separator != '\0') {
    const std::string twice(2, rule.separator);
    if (name.find(twice) != std::string_view::npos) return false;
  }
  return true;
}

std::string logicalId(std::string_view name) {
  std::string id;
  bool upper = true;
  for (char c : name) {
    if (!isLetter(c) && !isDigit(c)) {
      upper = true;
      continue;
    }
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    upper = false;
    id += c;
  }
  if (id.empty() || !isLetter(id.front())) id.insert(0, "X");
  return id;
}

} // namespace exoflow::synth
