// The checker's readers, driven through parseYaml on small documents, and the tree they read.

#include <array>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "manifest/checker.h"
#include "manifest/yaml_tree.h"

namespace exoflow::manifest {
namespace {

constexpr std::array<std::string_view, 3> kQueueKeys = {"kind", "retention", "fifo"};

std::string at(const Mark& mark) {
  return std::to_string(mark.line) + ":" + std::to_string(mark.column);
}

YamlFile parse(std::string text) {
  return parseYaml(SourceText(std::move(text)));
}

/// The first document's root; fails the test when there is none.
YamlNodePtr rootOf(const YamlFile& file) {
  EXPECT_FALSE(file.syntax_error.has_value()) << file.syntax_error->message;
  EXPECT_NE(file.root, nullptr);
  return file.root;
}

/// Everything the checker reported, as `exoflow validate` prints it.
std::string report(Checker& checker) {
  return formatText(checker.takeDiagnostics());
}

class CheckerTest : public ::testing::Test {
protected:
  /// Reads the whole document as a mapping of `allowed` keys.
  std::optional<Fields> read(const std::string& text,
                             std::span<const std::string_view> allowed = kQueueKeys) {
    file_ = parse(text);
    root_ = rootOf(file_);
    if (!root_) return std::nullopt;
    return checker_.mapping(*root_, "", Mark{1, 1}, allowed);
  }

  Checker checker_{"exoflow.yaml"};
  YamlFile file_;
  YamlNodePtr root_;
};

TEST_F(CheckerTest, MappingReportsAnUnknownKeyWithDidYouMean) {
  file_ = parse("kind: queue\nretnetion: 4d\n");
  auto fields = checker_.mapping(*rootOf(file_), "services.orders", Mark{1, 1}, kQueueKeys);
  ASSERT_TRUE(fields.has_value());
  EXPECT_TRUE(fields->has("kind"));
  EXPECT_FALSE(fields->has("retnetion"));
  EXPECT_EQ(fields->all().size(), 1U);
  EXPECT_TRUE(checker_.failed());
  EXPECT_EQ(report(checker_),
            "exoflow.yaml:2:1: error: services.orders.retnetion: unknown key \"retnetion\"\n"
            "  hint: did you mean \"retention\"?\n");
}

TEST_F(CheckerTest, MappingListsTheKeysWhenNoneIsClose) {
  ASSERT_TRUE(read("colour: red\n").has_value());
  EXPECT_EQ(report(checker_), "exoflow.yaml:1:1: error: colour: unknown key \"colour\"\n"
                              "  hint: expected kind, retention or fifo\n");
}

TEST_F(CheckerTest, MappingUsesTheCallersHintWhenNoneIsClose) {
  file_ = parse("colour: red\n");
  checker_.mapping(*rootOf(file_), "", Mark{1, 1}, kQueueKeys, "see the manifest reference");
  EXPECT_EQ(report(checker_), "exoflow.yaml:1:1: error: colour: unknown key \"colour\"\n"
                              "  hint: see the manifest reference\n");
}

TEST_F(CheckerTest, DuplicateKeyIsReportedAtTheSecondOccurrence) {
  auto fields = read("kind: queue\nfifo: true\nkind: kv\n");
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(fields->get("kind")->value->value, "queue");
  EXPECT_EQ(report(checker_), "exoflow.yaml:3:1: error: kind: duplicate key \"kind\"\n"
                              "  hint: first defined at line 1, column 1\n");
}

TEST_F(CheckerTest, OpenMappingNamesWhatIsDuplicated) {
  file_ = parse("orders: {kind: queue}\n  # comment\norders: {kind: kv}\n");
  auto fields = checker_.openMapping(*rootOf(file_), "services", Mark{1, 1}, "service");
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(fields->all().size(), 1U);
  EXPECT_EQ(fields->all()[0].path, "services.orders");
  EXPECT_EQ(report(checker_),
            "exoflow.yaml:3:1: error: services.orders: duplicate service \"orders\"\n"
            "  hint: first defined at line 1, column 1\n");
}

TEST_F(CheckerTest, MergeKeyIsRefused) {
  file_ = parse("defaults: &d {fifo: true}\norders:\n  <<: *d\n  kind: queue\n");
  const YamlNode& orders = *rootOf(file_)->entries.at(1).second;
  auto fields = checker_.mapping(orders, "services.orders", Mark{2, 1}, kQueueKeys);
  ASSERT_TRUE(fields.has_value());
  EXPECT_FALSE(fields->has("fifo"));
  EXPECT_TRUE(fields->has("kind"));
  EXPECT_EQ(report(checker_),
            "exoflow.yaml:3:3: error: services.orders.<<: YAML merge keys (<<) are not supported\n"
            "  hint: write the fields out in full\n");
}

TEST_F(CheckerTest, QuotedMergeKeyIsAnOrdinaryUnknownKey) {
  ASSERT_TRUE(read("\"<<\": 1\n").has_value());
  EXPECT_EQ(report(checker_), "exoflow.yaml:1:1: error: <<: unknown key \"<<\"\n"
                              "  hint: expected kind, retention or fifo\n");
}

TEST_F(CheckerTest, MappingRefusesOtherValuesAndNonScalarKeys) {
  file_ = parse("app: abc\n? [1]\n: x\n");
  const YamlNode& root = *rootOf(file_);
  EXPECT_EQ(checker_.mapping(*root.entries.at(0).second, "app", Mark{1, 1}, kQueueKeys),
            std::nullopt);
  EXPECT_TRUE(checker_.openMapping(root, "", Mark{1, 1}, "key").has_value());
  EXPECT_EQ(report(checker_), "exoflow.yaml:1:6: error: app: expected a mapping, got \"abc\"\n"
                              "exoflow.yaml:2:3: error: expected a plain key, got a list\n"
                              "  hint: keys are names written as text\n");
}

TEST_F(CheckerTest, RequireReportsAMissingFieldAtTheOwnersMark) {
  file_ = parse("services:\n  orders:\n    fifo: true\n");
  const YamlNode& orders = *rootOf(file_)->entries.at(0).second->entries.at(0).second;
  auto fields = checker_.mapping(orders, "services.orders", Mark{2, 3}, kQueueKeys);
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(checker_.require(*fields, "kind"), nullptr);
  EXPECT_NE(checker_.require(*fields, "fifo"), nullptr);
  EXPECT_EQ(report(checker_),
            "exoflow.yaml:2:3: error: services.orders.kind: required field is missing\n");
}

TEST_F(CheckerTest, IntegerRefusesAQuotedNumberWithAHint) {
  constexpr std::array<std::string_view, 1> keys = {"port"};
  auto fields = read("port: \"22\"\n", keys);
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(checker_.integer(*fields->get("port"), 1, 65535, "a port"), std::nullopt);
  EXPECT_EQ(report(checker_),
            "exoflow.yaml:1:7: error: port: expected a port 1..65535, got \"22\"\n"
            "  hint: a quoted value is a string; write 22 without quotes\n");
}

TEST_F(CheckerTest, IntegerReadsCoreIntegersAndChecksTheRange) {
  constexpr std::array<std::string_view, 4> keys = {"a", "b", "c", "d"};
  auto fields = read("a: 0x16\nb: 70000\nc: 22.0\nd: 99999999999999999999\n", keys);
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(checker_.integer(*fields->get("a"), 1, 65535), 22);
  EXPECT_EQ(checker_.integer(*fields->get("b"), 1, 65535), std::nullopt);
  EXPECT_EQ(checker_.integer(*fields->get("c"), 1, 65535), std::nullopt);
  EXPECT_EQ(checker_.integer(*fields->get("d"), 1, 65535), std::nullopt);
  EXPECT_EQ(report(checker_),
            "exoflow.yaml:2:4: error: b: expected an integer 1..65535, got 70000\n"
            "exoflow.yaml:3:4: error: c: expected an integer 1..65535, got 22.0\n"
            "exoflow.yaml:4:4: error: d: expected an integer 1..65535, got "
            "99999999999999999999\n");
}

TEST_F(CheckerTest, IntegerRefusesABadlyTaggedValue) {
  constexpr std::array<std::string_view, 2> keys = {"a", "b"};
  auto fields = read("a: !!int abc\nb: !!int 7\n", keys);
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(checker_.integer(*fields->get("a"), 0, 10), std::nullopt);
  EXPECT_EQ(checker_.integer(*fields->get("b"), 0, 10), 7);
  EXPECT_EQ(report(checker_), "exoflow.yaml:1:4: error: a: \"abc\" is not a valid !!int\n");
}

TEST_F(CheckerTest, BooleanRefusesYesWithTheYaml12Hint) {
  auto fields = read("fifo: yes\n");
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(checker_.boolean(*fields->get("fifo")), std::nullopt);
  EXPECT_EQ(report(checker_),
            "exoflow.yaml:1:7: error: fifo: expected a boolean (true or false), got \"yes\"\n"
            "  hint: YAML 1.2 reads yes, no, on and off as strings; write true or false\n");
}

TEST_F(CheckerTest, BooleanReadsCoreBooleansAndHintsAtQuotes) {
  constexpr std::array<std::string_view, 3> keys = {"a", "b", "c"};
  auto fields = read("a: True\nb: !!bool false\nc: \"false\"\n", keys);
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(checker_.boolean(*fields->get("a")), true);
  EXPECT_EQ(checker_.boolean(*fields->get("b")), false);
  EXPECT_EQ(checker_.boolean(*fields->get("c")), std::nullopt);
  EXPECT_EQ(report(checker_),
            "exoflow.yaml:3:4: error: c: expected a boolean (true or false), got \"false\"\n"
            "  hint: a quoted value is a string; write false without quotes\n");
}

TEST_F(CheckerTest, UnsupportedTagIsRefused) {
  auto fields = read("fifo: !yes true\n");
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(checker_.boolean(*fields->get("fifo")), std::nullopt);
  EXPECT_EQ(report(checker_), "exoflow.yaml:1:7: error: fifo: unsupported YAML tag \"!yes\"\n"
                              "  hint: only the core schema's tags (!!str, !!int, !!float, "
                              "!!bool, !!null) are understood\n");
}

TEST(CheckerDescribeTest, DescribeWritesEachKindOfValueAsAMessageShowsIt) {
  const YamlFile file = parse("[~, [1], {a: 1}, abc, 22, '22', 1.5, true, 'say \"hi\"', "
                              "\"a\\tb\\x01\", \"back\\\\slash\", !!str 7]\n");
  const YamlNodePtr root = rootOf(file);
  ASSERT_NE(root, nullptr);
  const std::array<std::string, 12> expected = {"nothing",
                                                "a list",
                                                "a mapping",
                                                "\"abc\"",
                                                "22",
                                                "\"22\"",
                                                "1.5",
                                                "true",
                                                "\"say \\\"hi\\\"\"",
                                                "\"a\\tb\\x01\"",
                                                "\"back\\\\slash\"",
                                                "\"7\""};
  ASSERT_EQ(root->items.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(Checker::describe(*root->items[i]), expected[i]) << i;
  }
}

TEST(CheckerDescribeTest, DescribeCutsLongValuesAfter60Characters) {
  const YamlFile file = parse("[" + std::string(60, 'x') + ", " + std::string(61, 'x') + ", " +
                              std::string(61, '9') + "]\n");
  const YamlNodePtr root = rootOf(file);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->items.size(), 3U);
  EXPECT_EQ(Checker::describe(*root->items[0]), "\"" + std::string(60, 'x') + "\"");
  EXPECT_EQ(Checker::describe(*root->items[1]), "\"" + std::string(60, 'x') + "...\"");
  EXPECT_EQ(Checker::describe(*root->items[2]), "\"" + std::string(60, '9') + "...\"");
}

TEST(CheckerDescribeTest, DescribeCountsAndCutsWholeCharacters) {
  // 60 and 61 times "é": the limit counts characters, and a cut never splits one.
  std::string sixty;
  for (int i = 0; i < 60; ++i)
    sixty += "\xC3\xA9";
  const YamlFile file = parse("[" + sixty + ", " + sixty + "\xC3\xA9]\n");
  const YamlNodePtr root = rootOf(file);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->items.size(), 2U);
  EXPECT_EQ(Checker::describe(*root->items[0]), "\"" + sixty + "\"");
  EXPECT_EQ(Checker::describe(*root->items[1]), "\"" + sixty + "...\"");
}

TEST(CheckerCoreTypeTest, TagsAndQuotesDecideTheType) {
  const YamlFile file = parse("- !!str 22\n- !!int 22\n- !!int abc\n- !!bool true\n- !!float 1\n"
                              "- !!float abc\n- !!null null\n- !custom x\n- 22\n- '22'\n"
                              "- \"22\"\n- ~\n- |\n  22\n");
  const YamlNodePtr root = rootOf(file);
  ASSERT_NE(root, nullptr);
  const std::array<CoreType, 13> expected = {
      CoreType::kString, CoreType::kInt,  CoreType::kString, CoreType::kBool, CoreType::kFloat,
      CoreType::kString, CoreType::kNull, CoreType::kString, CoreType::kInt,  CoreType::kString,
      CoreType::kString, CoreType::kNull, CoreType::kString};
  ASSERT_EQ(root->items.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(Checker::coreType(*root->items[i]), expected[i]) << i;
  }
}

TEST(CheckerCoreTypeTest, FloatTagRefusesWhatIsNotANumber) {
  // The core schema's !!float is the float pattern (integers included); a boolean or a null
  // tagged !!float is not a valid !!float.
  const YamlFile file = parse("- !!float 1.5\n- !!float .inf\n- !!float true\n- !!float ~\n");
  const YamlNodePtr root = rootOf(file);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->items.size(), 4U);
  EXPECT_EQ(Checker::coreType(*root->items[0]), CoreType::kFloat);
  EXPECT_EQ(Checker::coreType(*root->items[1]), CoreType::kFloat);
  EXPECT_EQ(Checker::coreType(*root->items[2]), CoreType::kString);
  EXPECT_EQ(Checker::coreType(*root->items[3]), CoreType::kString);
}

TEST(CheckerPathTest, ChildAndIndexBuildPaths) {
  EXPECT_EQ(Checker::child("", "app"), "app");
  EXPECT_EQ(Checker::child("services", "orders"), "services.orders");
  EXPECT_EQ(Checker::index("targets", 1), "targets[1]");
  EXPECT_EQ(Checker::child(Checker::index("ports", 0), "from"), "ports[0].from");
}

TEST(YamlTreeTest, AliasesShareTheAnchoredNode) {
  const YamlFile file = parse("a: &x {k: 1}\nb: *x\nc: &v 5\nd: *v\n");
  const YamlNodePtr root = rootOf(file);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->entries.size(), 4U);
  EXPECT_EQ(root->entries[0].second.get(), root->entries[1].second.get());
  EXPECT_EQ(root->entries[2].second.get(), root->entries[3].second.get());
  EXPECT_EQ(root->entries[3].second->value, "5");
}

TEST(YamlTreeTest, ImplicitNullIsPlacedAtItsKey) {
  const YamlFile file = parse("top:\n  a:\n  b: 1\nlast:\n");
  const YamlNodePtr root = rootOf(file);
  ASSERT_NE(root, nullptr);
  const YamlNode& a = *root->entries.at(0).second->entries.at(0).second;
  EXPECT_EQ(a.kind, YamlNode::Kind::kNull);
  EXPECT_TRUE(a.implicit_null);
  EXPECT_EQ(at(a.mark), "2:3");
  const YamlNode& last = *root->entries.at(1).second;
  EXPECT_EQ(last.kind, YamlNode::Kind::kNull);
  EXPECT_EQ(at(last.mark), "4:1");
}

TEST(YamlTreeTest, ExplicitNullKeepsItsOwnMark) {
  // implicit_null is documented as "a null written as nothing at all"; `~` is written.
  const YamlFile file = parse("a: ~\nb: null\n");
  const YamlNodePtr root = rootOf(file);
  ASSERT_NE(root, nullptr);
  const YamlNode& a = *root->entries.at(0).second;
  EXPECT_EQ(a.kind, YamlNode::Kind::kNull);
  EXPECT_FALSE(a.implicit_null);
  EXPECT_EQ(at(a.mark), "1:4");
  EXPECT_EQ(at(root->entries.at(1).second->mark), "2:4");
}

TEST(YamlTreeTest, ScalarsKeepTheirTagsAndMarks) {
  const YamlFile file = parse("a: plain\nb: 'quoted'\nc: !!str tagged\n");
  const YamlNodePtr root = rootOf(file);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->entries.size(), 3U);
  EXPECT_EQ(root->entries[0].second->tag, "?");
  EXPECT_EQ(root->entries[1].second->tag, "!");
  EXPECT_EQ(root->entries[1].second->value, "quoted");
  EXPECT_EQ(root->entries[2].second->tag, "tag:yaml.org,2002:str");
  EXPECT_EQ(at(root->entries[1].first->mark), "2:1");
  EXPECT_EQ(at(root->entries[1].second->mark), "2:4");
}

TEST(YamlTreeTest, MarksCountCharactersNotBytes) {
  const YamlFile file =
      parse("caf\xC3\xA9: \xE2\x82\xAC\nna\xC3\xAFve: [x, \xF0\x9F\x98\x80, y]\n");
  const YamlNodePtr root = rootOf(file);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->entries.size(), 2U);
  EXPECT_EQ(at(root->entries[0].second->mark), "1:7");
  const YamlNode& list = *root->entries[1].second;
  ASSERT_EQ(list.items.size(), 3U);
  EXPECT_EQ(at(list.items[1]->mark), "2:12");
  EXPECT_EQ(at(list.items[2]->mark), "2:15");
}

TEST(YamlTreeTest, SyntaxErrorComesBackWithItsMark) {
  const YamlFile file = parse("a: 1\nb: [1, 2\nc: 3\n");
  ASSERT_TRUE(file.syntax_error.has_value());
  EXPECT_EQ(file.syntax_error->file, "");
  EXPECT_EQ(at(file.syntax_error->mark), "3:2");
  EXPECT_EQ(file.syntax_error->message, "YAML syntax error: end of sequence flow not found");
  EXPECT_EQ(file.syntax_error->hint, std::nullopt);
}

TEST(YamlTreeTest, SyntaxErrorNearATabIndentHintsAtSpaces) {
  const YamlFile file = parse("a:\n  b: 1\n\tc: 2\n");
  ASSERT_TRUE(file.syntax_error.has_value());
  EXPECT_EQ(file.syntax_error->hint,
            "YAML does not allow tabs for indentation; indent with spaces");
}

TEST(YamlTreeTest, LaterDocumentsAreMarkedAtTheirStart) {
  const YamlFile file = parse("a: 1\n---\nb: 2\n---\nc: 3\n");
  const YamlNodePtr root = rootOf(file);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(root->entries.size(), 1U);
  EXPECT_EQ(root->entries[0].first->value, "a");
  ASSERT_EQ(file.extra_documents.size(), 2U);
  EXPECT_EQ(at(file.extra_documents[0]), "2:1");
  EXPECT_EQ(at(file.extra_documents[1]), "4:1");
}

TEST(YamlTreeTest, AnExplicitFirstDocumentIsNotExtra) {
  const YamlFile file = parse("---\na: 1\n...\n---\nb: 2\n");
  ASSERT_NE(rootOf(file), nullptr);
  ASSERT_EQ(file.extra_documents.size(), 1U);
  EXPECT_EQ(at(file.extra_documents[0]), "4:1");
}

TEST(YamlTreeTest, AnEmptyFileHasNoDocument) {
  for (const char* text : {"", "# only a comment\n"}) {
    const YamlFile file = parse(text);
    EXPECT_EQ(file.root, nullptr) << text;
    EXPECT_FALSE(file.syntax_error.has_value()) << text;
    EXPECT_TRUE(file.extra_documents.empty()) << text;
  }
}

} // namespace
} // namespace exoflow::manifest
