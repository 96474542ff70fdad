// Diagnostics: their order and their two printed forms, pinned to the exact text.

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "manifest/diagnostic.h"

namespace exoflow::manifest {
namespace {

Diagnostic make(int line, int column, std::string message, Severity severity = Severity::kError) {
  Diagnostic d;
  d.file = "exoflow.yaml";
  d.mark = Mark{line, column};
  d.severity = severity;
  d.message = std::move(message);
  return d;
}

std::vector<std::string> messages(const std::vector<Diagnostic>& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics)
    out.push_back(d.message);
  return out;
}

TEST(DiagnosticTest, SortOrdersByLineThenColumn) {
  std::vector<Diagnostic> diagnostics = {make(3, 1, "c"), make(1, 9, "b"), make(1, 2, "a"),
                                         make(2, 5, "d"), make(10, 1, "e")};
  sortDiagnostics(diagnostics);
  EXPECT_EQ(messages(diagnostics), (std::vector<std::string>{"a", "b", "d", "c", "e"}));
}

TEST(DiagnosticTest, SortKeepsTheOrderOfDiagnosticsAtTheSamePlace) {
  std::vector<Diagnostic> diagnostics = {make(2, 1, "second-1"), make(1, 1, "first-1"),
                                         make(2, 1, "second-2"), make(1, 1, "first-2"),
                                         make(2, 1, "second-3")};
  sortDiagnostics(diagnostics);
  EXPECT_EQ(messages(diagnostics),
            (std::vector<std::string>{"first-1", "first-2", "second-1", "second-2", "second-3"}));
}

TEST(DiagnosticTest, HasErrorsIgnoresWarnings) {
  EXPECT_FALSE(hasErrors({}));
  EXPECT_FALSE(hasErrors({make(1, 1, "w", Severity::kWarning)}));
  EXPECT_TRUE(hasErrors({make(1, 1, "w", Severity::kWarning), make(2, 1, "e")}));
}

TEST(DiagnosticTest, TextNamesFilePositionSeverityPathAndMessage) {
  Diagnostic d = make(14, 25, "expected a duration such as 30s, got \"abc\"");
  d.path = "services.orders.visibility_timeout";
  EXPECT_EQ(formatText({d}), "exoflow.yaml:14:25: error: services.orders.visibility_timeout: "
                             "expected a duration such as 30s, got \"abc\"\n");
}

TEST(DiagnosticTest, TextOmitsAnEmptyPath) {
  EXPECT_EQ(formatText({make(1, 1, "the file is empty")}),
            "exoflow.yaml:1:1: error: the file is empty\n");
}

TEST(DiagnosticTest, TextPutsTheHintOnItsOwnIndentedLine) {
  Diagnostic d = make(5, 5, "unknown key \"retnetion\"");
  d.path = "services.orders.retnetion";
  d.hint = "did you mean \"retention\"?";
  EXPECT_EQ(formatText({d}), "exoflow.yaml:5:5: error: services.orders.retnetion: unknown key "
                             "\"retnetion\"\n"
                             "  hint: did you mean \"retention\"?\n");
}

TEST(DiagnosticTest, TextWritesWarningsAsWarnings) {
  Diagnostic d = make(20, 1, "several targets without failover", Severity::kWarning);
  d.path = "targets";
  EXPECT_EQ(formatText({d}),
            "exoflow.yaml:20:1: warning: targets: several targets without failover\n");
}

TEST(DiagnosticTest, TextOfSeveralDiagnosticsKeepsTheirOrder) {
  Diagnostic second = make(1, 1, "second");
  second.hint = "a hint";
  EXPECT_EQ(formatText({make(2, 1, "first"), second}), "exoflow.yaml:2:1: error: first\n"
                                                       "exoflow.yaml:1:1: error: second\n"
                                                       "  hint: a hint\n");
  EXPECT_EQ(formatText({}), "");
}

TEST(DiagnosticTest, JsonHasEveryKeyInOrderAndNullForAMissingHint) {
  Diagnostic with_hint = make(5, 5, "unknown key \"retnetion\"");
  with_hint.path = "services.orders.retnetion";
  with_hint.hint = "did you mean \"retention\"?";
  const Diagnostic without_hint = make(1, 1, "two targets, no failover", Severity::kWarning);
  EXPECT_EQ(formatJson({with_hint, without_hint}),
            R"([
  {
    "file": "exoflow.yaml",
    "line": 5,
    "column": 5,
    "severity": "error",
    "path": "services.orders.retnetion",
    "message": "unknown key \"retnetion\"",
    "hint": "did you mean \"retention\"?"
  },
  {
    "file": "exoflow.yaml",
    "line": 1,
    "column": 1,
    "severity": "warning",
    "path": "",
    "message": "two targets, no failover",
    "hint": null
  }
]
)");
}

TEST(DiagnosticTest, JsonOfNoDiagnosticsIsAnEmptyArray) {
  EXPECT_EQ(formatJson({}), "[]\n");
}

TEST(DiagnosticTest, JsonParsesBackToTheSameValues) {
  Diagnostic d = make(14, 25, "expected a duration such as 30s, got \"a\\b\"\t");
  d.path = "services.orders.visibility_timeout";
  d.hint = "caf\xC3\xA9";
  const auto parsed = nlohmann::ordered_json::parse(formatJson({d, make(2, 3, "m")}));
  ASSERT_TRUE(parsed.is_array());
  ASSERT_EQ(parsed.size(), 2U);
  std::vector<std::string> keys;
  for (const auto& [key, value] : parsed[0].items())
    keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"file", "line", "column", "severity", "path", "message",
                                            "hint"}));
  EXPECT_EQ(parsed[0]["file"], "exoflow.yaml");
  EXPECT_EQ(parsed[0]["line"], 14);
  EXPECT_EQ(parsed[0]["column"], 25);
  EXPECT_EQ(parsed[0]["severity"], "error");
  EXPECT_EQ(parsed[0]["path"], "services.orders.visibility_timeout");
  EXPECT_EQ(parsed[0]["message"], "expected a duration such as 30s, got \"a\\b\"\t");
  EXPECT_EQ(parsed[0]["hint"], "caf\xC3\xA9");
  EXPECT_TRUE(parsed[1]["hint"].is_null());
}

TEST(DiagnosticTest, JsonReplacesInvalidUtf8InsteadOfThrowing) {
  Diagnostic d = make(1, 1, "m");
  d.file = "bad\xFF.yaml";
  std::string json;
  ASSERT_NO_THROW(json = formatJson({d}));
  const auto parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed[0]["file"], "bad\xEF\xBF\xBD.yaml");
}

} // namespace
} // namespace exoflow::manifest
