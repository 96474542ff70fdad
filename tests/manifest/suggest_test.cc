// "Did you mean": the distance it is built on, which candidates it offers, and how
// alternatives are listed.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "manifest/suggest.h"

namespace exoflow::manifest {
namespace {

constexpr std::array<std::string_view, 6> kQueueKeys = {
    "kind", "visibility_timeout", "retention", "max_message_size", "dead_letter", "fifo"};

TEST(SuggestTest, EditDistanceCountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(editDistance("", ""), 0U);
  EXPECT_EQ(editDistance("abc", ""), 3U);
  EXPECT_EQ(editDistance("", "abc"), 3U);
  EXPECT_EQ(editDistance("kind", "kind"), 0U);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3U);
  EXPECT_EQ(editDistance("visibilty_timeout", "visibility_timeout"), 1U);
}

TEST(SuggestTest, EditDistanceCountsAnAdjacentTranspositionAsOneEdit) {
  EXPECT_EQ(editDistance("ab", "ba"), 1U);
  EXPECT_EQ(editDistance("retnetion", "retention"), 1U);
  EXPECT_EQ(editDistance("fiof", "fifo"), 1U);
}

TEST(SuggestTest, EditDistanceIsOptimalStringAlignment) {
  // OSA does not edit a substring twice: "ca" -> "abc" is 3, where unrestricted
  // Damerau-Levenshtein would find 2.
  EXPECT_EQ(editDistance("ca", "abc"), 3U);
}

TEST(SuggestTest, EditDistanceIsSymmetric) {
  EXPECT_EQ(editDistance("retention", "retnetion"), editDistance("retnetion", "retention"));
  EXPECT_EQ(editDistance("abc", "ca"), editDistance("ca", "abc"));
  EXPECT_EQ(editDistance("sitting", "kitten"), 3U);
}

TEST(SuggestTest, ClosestMatchFindsACaseOnlyDifferenceAtAnyDistance) {
  EXPECT_EQ(closestMatch("Kind", kQueueKeys), "kind");
  EXPECT_EQ(closestMatch("FIFO", kQueueKeys), "fifo");
  EXPECT_EQ(closestMatch("Visibility_Timeout", kQueueKeys), "visibility_timeout");
}

TEST(SuggestTest, ClosestMatchFindsATypo) {
  EXPECT_EQ(closestMatch("retnetion", kQueueKeys), "retention");
  EXPECT_EQ(closestMatch("visibilty_timeout", kQueueKeys), "visibility_timeout");
  EXPECT_EQ(closestMatch("dead-letter", kQueueKeys), "dead_letter");
  EXPECT_EQ(closestMatch("fifi", kQueueKeys), "fifo");
}

TEST(SuggestTest, ClosestMatchAllowsTwoEditsOnlyForWordsLongerThanFour) {
  EXPECT_EQ(closestMatch("rettion", kQueueKeys), "retention");
  EXPECT_EQ(closestMatch("retion", kQueueKeys), std::nullopt);
  EXPECT_EQ(closestMatch("kin", kQueueKeys), "kind");
  EXPECT_EQ(closestMatch("ki", kQueueKeys), std::nullopt);
}

TEST(SuggestTest, ClosestMatchOffersNothingWhenNothingIsClose) {
  EXPECT_EQ(closestMatch("colour", kQueueKeys), std::nullopt);
  EXPECT_EQ(closestMatch("", kQueueKeys), std::nullopt);
  EXPECT_EQ(closestMatch("kind", std::span<const std::string_view>()), std::nullopt);
}

TEST(SuggestTest, ClosestMatchDoesNotReplaceAWholeShortCandidate) {
  // Every letter of "y" would change; that is not a typo of it.
  const std::array<std::string_view, 1> one = {"y"};
  EXPECT_EQ(closestMatch("x", one), std::nullopt);
}

TEST(SuggestTest, ClosestMatchPrefersTheNearerCandidate) {
  const std::array<std::string_view, 2> keys = {"region", "regions"};
  EXPECT_EQ(closestMatch("regionss", keys), "regions");
}

TEST(SuggestTest, ClosestMatchBreaksTiesByCandidateOrder) {
  const std::array<std::string_view, 2> keys = {"cat", "car"};
  EXPECT_EQ(closestMatch("cax", keys), "cat");
  const std::array<std::string_view, 2> reversed = {"car", "cat"};
  EXPECT_EQ(closestMatch("cax", reversed), "car");
}

TEST(SuggestTest, ClosestMatchGivesUpOnWordsLongerThan64Characters) {
  const std::string candidate(64, 'a');
  const std::array<std::string_view, 1> keys = {candidate};
  EXPECT_EQ(closestMatch(std::string(63, 'a') + "b", keys), candidate);
  EXPECT_EQ(closestMatch(std::string(65, 'a'), keys), std::nullopt);
  // Even an exact match is not looked for once the word is too long.
  const std::string long_candidate(65, 'a');
  const std::array<std::string_view, 1> long_keys = {long_candidate};
  EXPECT_EQ(closestMatch(long_candidate, long_keys), std::nullopt);
}

TEST(SuggestTest, JoinAlternativesListsWithCommasAndOr) {
  const std::vector<std::string_view> none;
  const std::vector<std::string_view> one = {"aws"};
  const std::vector<std::string_view> two = {"aws", "azure"};
  const std::vector<std::string_view> four = {"small", "medium", "large", "xlarge"};
  EXPECT_EQ(joinAlternatives(none), "");
  EXPECT_EQ(joinAlternatives(one), "aws");
  EXPECT_EQ(joinAlternatives(two), "aws or azure");
  EXPECT_EQ(joinAlternatives(four), "small, medium, large or xlarge");
}

} // namespace
} // namespace exoflow::manifest
