#pragma once
// One name generator for every cloud. Each kind of named resource has its cloud's limits as
// data (length, characters, separator, first character); fitName() turns manifest names,
// which follow the manifest's own rules, into a name within those limits. A name that is too
// long is cut and ends with a hash of the whole name, so two long names that share a prefix
// still differ, and the same input always gives the same name.

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace exoflow::synth {

enum class NameKind {
  kAwsSqsQueue,      ///< region-scoped; a FIFO queue ends with ".fifo" (reserve 5)
  kAwsS3Bucket,      ///< global; deployed names end with the account id (reserve 13)
  kAwsDynamoDbTable, ///< region-scoped
  kAwsRdsInstance,   ///< DBInstanceIdentifier, region-scoped
  kAwsRdsDatabase,   ///< the database inside the instance (DBName)
  kAwsIamRole,       ///< account-wide
  kAwsStack,         ///< CloudFormation stack name, region-scoped
  kAzureResourceGroup,
  kAzureStorageAccount, ///< global; letters and digits only
  kAzureQueue,
  kAzureBlobContainer,
  kAzureTable, ///< letters and digits only, starts with a letter
  kAzureFlexibleServer,
  kAzureKeyVault,
  kAzureDatabase, ///< the database inside a flexible server
};

/// The limits of one kind of name.
struct NameRule {
  NameKind kind;
  std::string_view what; ///< for messages and docs, e.g. "SQS queue name"
  std::size_t min_length;
  std::size_t max_length;
  bool lower_only;          ///< upper-case letters are not allowed (they are lower-cased)
  std::string_view extra;   ///< allowed characters besides letters and digits
  char separator;           ///< joins parts and replaces other characters; '\0': none
  bool letter_first;        ///< must start with a letter
  bool alnum_last;          ///< must end with a letter or digit
  bool no_double_separator; ///< "--" is not allowed
};

/// The table, one row per NameKind.
std::span<const NameRule> nameRules();
const NameRule& nameRule(NameKind kind);

/// Joins `parts` with the rule's separator and fits the result into the rule, leaving
/// `reserve` characters for a suffix the caller appends (".fifo", an account id, ...).
std::string fitName(NameKind kind, std::initializer_list<std::string_view> parts,
                    std::size_t reserve = 0);

/// True when `name` (with any suffix already appended) satisfies the rule.
bool fitsRule(NameKind kind, std::string_view name);

/// A CloudFormation logical id for a manifest name: "shop-db" -> "ShopDb".
std::string logicalId(std::string_view name);

/// The first `digits` hex digits of a 64-bit FNV-1a hash of `text`.
std::string shortHash(std::string_view text, std::size_t digits = 6);

} // namespace exoflow::synth
