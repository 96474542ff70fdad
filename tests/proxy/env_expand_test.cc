#include <map>
#include <string>

#include <gtest/gtest.h>

#include "proxy/env_expand.h"

namespace exoflow::proxy {
namespace {

EnvLookup fakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string expand(std::string_view text, const EnvLookup& env) {
  auto out = expandEnv(text, env);
  return out ? *out : "ERROR: " + out.error().message;
}

TEST(EnvExpandTest, ReplacesSetVariables) {
  const EnvLookup env = fakeEnv({{"TOKEN", "s3cret"}, {"PORT", "7420"}});
  EXPECT_EQ(expand("${TOKEN}", env), "s3cret");
  EXPECT_EQ(expand("127.0.0.1:${PORT}", env), "127.0.0.1:7420");
  EXPECT_EQ(expand("${TOKEN}-${PORT}", env), "s3cret-7420");
}

TEST(EnvExpandTest, UsesTheDefaultWhenUnsetOrEmpty) {
  const EnvLookup env = fakeEnv({{"EMPTY", ""}, {"SET", "x"}});
  EXPECT_EQ(expand("${MISSING:-fallback}", env), "fallback");
  EXPECT_EQ(expand("${EMPTY:-fallback}", env), "fallback");
  EXPECT_EQ(expand("${SET:-fallback}", env), "x");
  EXPECT_EQ(expand("${MISSING:-}", env), "");
  EXPECT_EQ(expand("${EMPTY}", env), "");
}

TEST(EnvExpandTest, NamesTheUnsetVariable) {
  auto out = expandEnv("Bearer ${EXO_TOKEN}", fakeEnv({}));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message, "environment variable EXO_TOKEN is not set");
  EXPECT_EQ(out.error().hint, "set it, or give a default: ${EXO_TOKEN:-value}");
}

TEST(EnvExpandTest, KeepsLoneDollarsAndUnescapesDoubleDollarBrace) {
  const EnvLookup env = fakeEnv({{"A", "1"}});
  EXPECT_EQ(expand("pa$$word$", env), "pa$$word$");
  EXPECT_EQ(expand("$${A}", env), "${A}");
  EXPECT_EQ(expand("$A", env), "$A");
}

TEST(EnvExpandTest, RefusesMalformedReferences) {
  const EnvLookup env = fakeEnv({});
  EXPECT_EQ(expand("${A", env), "ERROR: unterminated \"${\" in value");
  EXPECT_EQ(expand("${}", env), "ERROR: \"${}\" is not a valid variable reference");
  EXPECT_EQ(expand("${1X}", env), "ERROR: \"${1X}\" is not a valid variable reference");
  EXPECT_EQ(expand("${A-B}", env), "ERROR: \"${A-B}\" is not a valid variable reference");
}

TEST(EnvExpandTest, ProtectionKeepsCharacterCountsAndRoundTrips) {
  const std::string text = "peers: {a: {token: ${EXO_PEER_TOKEN}, x: \"$${Y:-a,b}\"}}\n${OPEN\n";
  const std::string safe = protectReferences(text);
  EXPECT_NE(safe.find("${OPEN"), std::string::npos) << "an unclosed reference is left alone";
  EXPECT_EQ(safe.find("${"), safe.find("${OPEN")) << "every closed one is protected";
  EXPECT_EQ(unprotectReferences(safe), text);
  EXPECT_TRUE(holdsReservedCharacters(safe));
  EXPECT_FALSE(holdsReservedCharacters(text));
  std::size_t characters = 0;
  for (unsigned char c : safe)
    characters += (c & 0xC0) != 0x80 ? 1 : 0;
  EXPECT_EQ(characters, text.size());
}

} // namespace
} // namespace exoflow::proxy
