#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "model/regions.h"

namespace exoflow::model {
namespace {

std::string describe(RegionKind kind) {
  switch (kind) {
  case RegionKind::kSupported:
    return "kSupported";
  case RegionKind::kUnsupportedSovereign:
    return "kUnsupportedSovereign";
  case RegionKind::kUnknown:
    return "kUnknown";
  }
  return "?";
}

void expectSupported(std::string_view cloud, std::string_view region) {
  const RegionLookup lookup = lookupRegion(cloud, region);
  EXPECT_EQ(describe(lookup.kind), "kSupported") << cloud << " " << region;
  EXPECT_TRUE(lookup.note.empty()) << cloud << " " << region;
}

void expectSovereign(std::string_view cloud, std::string_view region, std::string_view note) {
  const RegionLookup lookup = lookupRegion(cloud, region);
  EXPECT_EQ(describe(lookup.kind), "kUnsupportedSovereign") << cloud << " " << region;
  EXPECT_EQ(lookup.note, note) << cloud << " " << region;
}

void expectUnknown(std::string_view cloud, std::string_view region) {
  const RegionLookup lookup = lookupRegion(cloud, region);
  EXPECT_EQ(describe(lookup.kind), "kUnknown") << cloud << " " << region;
  EXPECT_TRUE(lookup.note.empty()) << cloud << " " << region;
}

bool contains(std::span<const std::string_view> list, std::string_view name) {
  return std::ranges::find(list, name) != list.end();
}

TEST(RegionsTest, KnowsExactlyAwsAndAzureInOrder) {
  const std::vector<std::string_view> clouds(knownClouds().begin(), knownClouds().end());
  EXPECT_EQ(clouds, (std::vector<std::string_view>{"aws", "azure"}));
}

TEST(RegionsTest, KnowsAwsDefaultRegions) {
  for (std::string_view region :
       {"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-central-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "ap-northeast-1", "ap-northeast-2",
        "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "sa-east-1"}) {
    expectSupported("aws", region);
  }
}

TEST(RegionsTest, KnowsAwsOptInRegions) {
  for (std::string_view region :
       {"af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2",
        "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1"}) {
    expectSupported("aws", region);
  }
}

TEST(RegionsTest, KnowsAzurePhysicalRegions) {
  for (std::string_view region :
       {"eastus",          "eastus2",           "westus3",      "swedencentral",
        "italynorth",      "polandcentral",     "spaincentral", "mexicocentral",
        "newzealandnorth", "israelcentral",     "qatarcentral", "indonesiacentral",
        "malaysiawest",    "chilecentral",      "austriaeast",  "belgiumcentral",
        "denmarkeast",     "indiasouthcentral", "westeurope",   "uksouth",
        "japaneast"}) {
    expectSupported("azure", region);
  }
}

TEST(RegionsTest, KnowsAzureRestrictedAccessPhysicalRegions) {
  for (std::string_view region : {"francesouth", "germanynorth", "norwaywest", "switzerlandwest",
                                  "uaecentral", "southafricawest", "australiacentral2",
                                  "brazilsoutheast", "jioindiacentral", "jioindiawest"}) {
    expectSupported("azure", region);
  }
}

TEST(RegionsTest, TreatsAzureCanaryStageAndGeographyNamesAsUnknown) {
  for (std::string_view region :
       {"eastus2euap", "centraluseuap", "eastusstage", "westus2stage", "eastusstg",
        "southcentralusstg", "brazilus", "unitedstates", "unitedstateseuap", "europe", "asia",
        "asiapacific", "global", "uk", "uae"}) {
    expectUnknown("azure", region);
  }
}

TEST(RegionsTest, ReportsAwsGovCloudAsSovereignWithNote) {
  expectSovereign("aws", "us-gov-east-1", "AWS GovCloud (US)");
  expectSovereign("aws", "us-gov-west-1", "AWS GovCloud (US)");
}

TEST(RegionsTest, ReportsAwsChinaAsSovereignWithNote) {
  expectSovereign("aws", "cn-north-1", "AWS China");
  expectSovereign("aws", "cn-northwest-1", "AWS China");
}

TEST(RegionsTest, ReportsAwsEuropeanSovereignCloudWithNote) {
  expectSovereign("aws", "eusc-de-east-1", "AWS European Sovereign Cloud");
}

TEST(RegionsTest, ReportsAwsIsoRegionsAsSovereignWithNote) {
  expectSovereign("aws", "us-iso-east-1", "AWS ISO (air-gapped)");
  expectSovereign("aws", "us-iso-west-1", "AWS ISO (air-gapped)");
  expectSovereign("aws", "us-isob-east-1", "AWS ISO-B (air-gapped)");
  expectSovereign("aws", "us-isob-west-1", "AWS ISO-B (air-gapped)");
  expectSovereign("aws", "eu-isoe-west-1", "AWS ISO-E (air-gapped)");
  expectSovereign("aws", "us-isof-east-1", "AWS ISO-F (air-gapped)");
  expectSovereign("aws", "us-isof-south-1", "AWS ISO-F (air-gapped)");
}

TEST(RegionsTest, ReportsAzureGovernmentAsSovereignWithNote) {
  for (std::string_view region :
       {"usgovvirginia", "usgovarizona", "usgovtexas", "usgoviowa", "usdodeast", "usdodcentral"}) {
    expectSovereign("azure", region, "Azure Government");
  }
  expectSovereign("azure", "usseceast", "Azure Government Secret");
  expectSovereign("azure", "usnatwest", "Azure Government Top Secret");
}

TEST(RegionsTest, ReportsAzureChinaAsSovereignWithNote) {
  for (std::string_view region :
       {"chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3"}) {
    expectSovereign("azure", region, "Azure China");
  }
}

TEST(RegionsTest, ReportsAzureGermanyAndPartnerCloudsAsSovereignWithNote) {
  expectSovereign("azure", "germanycentral", "Microsoft Cloud Deutschland (retired)");
  expectSovereign("azure", "germanynortheast", "Microsoft Cloud Deutschland (retired)");
  expectSovereign("azure", "bleufrancecentral", "Bleu (French sovereign cloud)");
  expectSovereign("azure", "deloscloudgermanycentral", "Delos Cloud (German sovereign cloud)");
}

TEST(RegionsTest, DoesNotListSovereignRegionsAsPublic) {
  for (std::string_view region :
       {"us-gov-west-1", "cn-north-1", "eusc-de-east-1", "us-iso-east-1"}) {
    EXPECT_FALSE(contains(publicRegions("aws"), region)) << region;
  }
  for (std::string_view region : {"usgovvirginia", "chinanorth3", "germanycentral"}) {
    EXPECT_FALSE(contains(publicRegions("azure"), region)) << region;
  }
}

TEST(RegionsTest, TreatsUnlistedRegionsAsUnknownWithEmptyNote) {
  for (std::string_view region : {"", "us-east-3", "eu-west-9", "mars-north-1", "aws-global",
                                  "us-gov-central-1", "eastus", " us-east-1", "us-east-1 "}) {
    expectUnknown("aws", region);
  }
  for (std::string_view region : {"", "eastus9", "us-east-1", "westus4", "east us"}) {
    expectUnknown("azure", region);
  }
}

TEST(RegionsTest, MatchesRegionsCaseSensitively) {
  expectUnknown("aws", "US-EAST-1");
  expectUnknown("azure", "EastUS");
  expectUnknown("aws", "US-GOV-WEST-1");
}

TEST(RegionsTest, DoesNotMixUpTheTwoClouds) {
  expectUnknown("aws", "westeurope");
  expectUnknown("azure", "eu-west-1");
  expectUnknown("aws", "usgovvirginia");
  expectUnknown("azure", "us-gov-west-1");
}

TEST(RegionsTest, TreatsAnyRegionOfAnUnknownCloudAsUnknown) {
  for (std::string_view cloud : {"gcp", "", "AWS", "Azure", "aws ", "oracle"}) {
    EXPECT_TRUE(publicRegions(cloud).empty()) << cloud;
    expectUnknown(cloud, "us-east-1");
    expectUnknown(cloud, "eastus");
    expectUnknown(cloud, "us-gov-west-1");
  }
}

TEST(RegionsTest, SupportsEveryListedPublicRegion) {
  for (std::string_view cloud : knownClouds()) {
    ASSERT_FALSE(publicRegions(cloud).empty()) << cloud;
    for (std::string_view region : publicRegions(cloud)) {
      expectSupported(cloud, region);
    }
  }
}

// Every list the interface exposes is sorted and free of duplicates; the private sovereign lists
// are held to the same rule by static_asserts in regions.cc.
TEST(RegionsTest, KeepsEveryListSortedWithoutDuplicates) {
  std::vector<std::span<const std::string_view>> lists = {knownClouds()};
  for (std::string_view cloud : knownClouds()) {
    lists.push_back(publicRegions(cloud));
  }
  for (std::span<const std::string_view> list : lists) {
    EXPECT_TRUE(std::ranges::is_sorted(list));
    EXPECT_EQ(std::ranges::adjacent_find(list), list.end());
  }
}

TEST(RegionsTest, SpellsPublicRegionsAsEachCloudDoes) {
  for (std::string_view region : publicRegions("aws")) {
    // <area>-<direction>-<number>, e.g. "ap-southeast-7".
    const auto dashes = std::ranges::count(region, '-');
    EXPECT_EQ(dashes, 2) << region;
    EXPECT_TRUE(std::ranges::all_of(region, [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    })) << region;
  }
  for (std::string_view region : publicRegions("azure")) {
    EXPECT_TRUE(std::ranges::all_of(region, [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    })) << region;
  }
}

// Pinned so that a region added or dropped is a deliberate change: update regions.cc's header
// comment (sources and date) together with these numbers.
TEST(RegionsTest, PinsTheNumberOfPublicRegionsPerCloud) {
  EXPECT_EQ(publicRegions("aws").size(), 34U);
  EXPECT_EQ(publicRegions("azure").size(), 59U);
}

} // namespace
} // namespace exoflow::model
