// Cloud region data: the one place ExoFlow lists regions. Checked on 2026-11-28 against:
//
// AWS public commercial regions: the "aws" partition of the SDKs' partitions.json (botocore
// botocore/data/partitions.json; the same data bundled in the AWS SDK for JavaScript v3), AWS's
// region table (docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html) and
// the list of opt-in regions (docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions).
// Opt-in regions are included: they are public, they just have to be enabled per account.
// AWS sovereign regions: the other partitions of the same file: aws-us-gov, aws-cn, aws-eusc,
// aws-iso, aws-iso-b, aws-iso-e, aws-iso-f. The pseudo-regions "aws-global" and friends are
// endpoint aliases, not regions, and are left out.
//
// Azure public regions: the `name` of every location with metadata.regionType "Physical" in
// `az account list-locations` (Subscriptions - List Locations), cross-checked against Microsoft
// Learn "Azure regions list" (learn.microsoft.com/azure/reliability/regions-list, programmatic
// names). Restricted-access physical regions (francesouth, germanynorth, norwaywest, ...,
// jioindiacentral, jioindiawest) are included: they are public-cloud regions a subscription can be
// granted. Left out on purpose: canary and staging locations (eastus2euap, centraluseuap,
// *stage, eastusstg, southcentralusstg), logical locations (brazilus) and geography aliases
// (unitedstates, europe, global, ...), none of which takes a deployment.
// Azure sovereign regions: Azure Government (incl. Secret and Top Secret), Azure China (21Vianet),
// the retired Microsoft Cloud Deutschland, and the partner sovereign clouds Bleu and Delos, as
// named in the Azure SDKs' location lists.
//
// A region that is not listed is kUnknown. To add one: insert it in order (the static_asserts
// below reject unsorted, duplicate or doubly listed names), bump the pinned count in
// tests/model/regions_test.cc and update the date above.

#include "model/regions.h"

#include <algorithm>
#include <array>
#include <functional>
#include <iterator>

namespace exoflow::model {
namespace {

struct SovereignRegion {
  std::string_view name;
  std::string_view note;
};

struct CloudRegions {
  std::string_view cloud;
  std::span<const std::string_view> public_regions;
  std::span<const SovereignRegion> sovereign_regions;
};

constexpr auto kClouds = std::to_array<std::string_view>({"aws", "azure"});

// --- AWS ------------------------------------------------------------------------------------

constexpr auto kAwsPublicRegions = std::to_array<std::string_view>({
    "af-south-1",     // Africa (Cape Town), opt-in
    "ap-east-1",      // Asia Pacific (Hong Kong), opt-in
    "ap-east-2",      // Asia Pacific (Taipei), opt-in
    "ap-northeast-1", // Asia Pacific (Tokyo)
    "ap-northeast-2", // Asia Pacific (Seoul)
    "ap-northeast-3", // Asia Pacific (Osaka)
    "ap-south-1",     // Asia Pacific (Mumbai)
    "ap-south-2",     // Asia Pacific (Hyderabad), opt-in
    "ap-southeast-1", // Asia Pacific (Singapore)
    "ap-southeast-2", // Asia Pacific (Sydney)
    "ap-southeast-3", // Asia Pacific (Jakarta), opt-in
    "ap-southeast-4", // Asia Pacific (Melbourne), opt-in
    "ap-southeast-5", // Asia Pacific (Malaysia), opt-in
    "ap-southeast-6", // Asia Pacific (New Zealand), opt-in
    "ap-southeast-7", // Asia Pacific (Thailand), opt-in
    "ca-central-1",   // Canada (Central)
    "ca-west-1",      // Canada West (Calgary), opt-in
    "eu-central-1",   // Europe (Frankfurt)
    "eu-central-2",   // Europe (Zurich), opt-in
    "eu-north-1",     // Europe (Stockholm)
    "eu-south-1",     // Europe (Milan), opt-in
    "eu-south-2",     // Europe (Spain), opt-in
    "eu-west-1",      // Europe (Ireland)
    "eu-west-2",      // Europe (London)
    "eu-west-3",      // Europe (Paris)
    "il-central-1",   // Israel (Tel Aviv), opt-in
    "me-central-1",   // Middle East (UAE), opt-in
    "me-south-1",     // Middle East (Bahrain), opt-in
    "mx-central-1",   // Mexico (Central), opt-in
    "sa-east-1",      // South America (Sao Paulo)
    "us-east-1",      // US East (N. Virginia)
    "us-east-2",      // US East (Ohio)
    "us-west-1",      // US West (N. California)
    "us-west-2",      // US West (Oregon)
});

constexpr std::string_view kAwsGovCloud = "AWS GovCloud (US)";
constexpr std::string_view kAwsChina = "AWS China";
constexpr std::string_view kAwsEuropeanSovereignCloud = "AWS European Sovereign Cloud";
constexpr std::string_view kAwsIso = "AWS ISO (air-gapped)";
constexpr std::string_view kAwsIsoB = "AWS ISO-B (air-gapped)";
constexpr std::string_view kAwsIsoE = "AWS ISO-E (air-gapped)";
constexpr std::string_view kAwsIsoF = "AWS ISO-F (air-gapped)";

constexpr auto kAwsSovereignRegions = std::to_array<SovereignRegion>({
    {"cn-north-1", kAwsChina},                      // China (Beijing)
    {"cn-northwest-1", kAwsChina},                  // China (Ningxia)
    {"eu-isoe-west-1", kAwsIsoE},                   // EU ISOE West
    {"eusc-de-east-1", kAwsEuropeanSovereignCloud}, // EU (Germany), Brandenburg
    {"us-gov-east-1", kAwsGovCloud},                // AWS GovCloud (US-East)
    {"us-gov-west-1", kAwsGovCloud},                // AWS GovCloud (US-West)
    {"us-iso-east-1", kAwsIso},                     // US ISO East
    {"us-iso-west-1", kAwsIso},                     // US ISO West
    {"us-isob-east-1", kAwsIsoB},                   // US ISOB East (Ohio)
    {"us-isob-west-1", kAwsIsoB},                   // US ISOB West
    {"us-isof-east-1", kAwsIsoF},                   // US ISOF East
    {"us-isof-south-1", kAwsIsoF},                  // US ISOF South
});

// --- Azure ----------------------------------------------------------------------------------

constexpr auto kAzurePublicRegions = std::to_array<std::string_view>({
    "australiacentral",   // Australia Central, Canberra
    "australiacentral2",  // Australia Central 2, Canberra (restricted)
    "australiaeast",      // Australia East, New South Wales
    "australiasoutheast", // Australia Southeast, Victoria
    "austriaeast",        // Austria East, Vienna
    "belgiumcentral",     // Belgium Central, Brussels
    "brazilsouth",        // Brazil South, Sao Paulo State
    "brazilsoutheast",    // Brazil Southeast, Rio (restricted)
    "canadacentral",      // Canada Central, Toronto
    "canadaeast",         // Canada East, Quebec
    "centralindia",       // Central India, Pune
    "centralus",          // Central US, Iowa
    "chilecentral",       // Chile Central, Santiago
    "denmarkeast",        // Denmark East, Copenhagen
    "eastasia",           // East Asia, Hong Kong SAR
    "eastus",             // East US, Virginia
    "eastus2",            // East US 2, Virginia
    "francecentral",      // France Central, Paris
    "francesouth",        // France South, Marseille (restricted)
    "germanynorth",       // Germany North, Berlin (restricted)
    "germanywestcentral", // Germany West Central, Frankfurt
    "indiasouthcentral",  // India South Central, Hyderabad
    "indonesiacentral",   // Indonesia Central, Jakarta
    "israelcentral",      // Israel Central
    "italynorth",         // Italy North, Milan
    "japaneast",          // Japan East, Tokyo/Saitama
    "japanwest",          // Japan West, Osaka
    "jioindiacentral",    // Jio India Central, Nagpur (restricted)
    "jioindiawest",       // Jio India West, Jamnagar (restricted)
    "koreacentral",       // Korea Central, Seoul
    "koreasouth",         // Korea South, Busan
    "malaysiawest",       // Malaysia West, Kuala Lumpur
    "mexicocentral",      // Mexico Central, Queretaro State
    "newzealandnorth",    // New Zealand North, Auckland
    "northcentralus",     // North Central US, Illinois
    "northeurope",        // North Europe, Ireland
    "norwayeast",         // Norway East
    "norwaywest",         // Norway West (restricted)
    "polandcentral",      // Poland Central, Warsaw
    "qatarcentral",       // Qatar Central, Doha
    "southafricanorth",   // South Africa North, Johannesburg
    "southafricawest",    // South Africa West, Cape Town (restricted)
    "southcentralus",     // South Central US, Texas
    "southeastasia",      // Southeast Asia, Singapore
    "southindia",         // South India, Chennai
    "spaincentral",       // Spain Central, Madrid
    "swedencentral",      // Sweden Central, Gavle
    "switzerlandnorth",   // Switzerland North, Zurich
    "switzerlandwest",    // Switzerland West, Geneva (restricted)
    "uaecentral",         // UAE Central, Abu Dhabi (restricted)
    "uaenorth",           // UAE North, Dubai
    "uksouth",            // UK South, London
    "ukwest",             // UK West, Cardiff
    "westcentralus",      // West Central US, Wyoming
    "westeurope",         // West Europe, Netherlands
    "westindia",          // West India, Mumbai
    "westus",             // West US, California
    "westus2",            // West US 2, Washington
    "westus3",            // West US 3, Phoenix
});

constexpr std::string_view kAzureGovernment = "Azure Government";
constexpr std::string_view kAzureGovernmentSecret = "Azure Government Secret";
constexpr std::string_view kAzureGovernmentTopSecret = "Azure Government Top Secret";
constexpr std::string_view kAzureChina = "Azure China";
constexpr std::string_view kAzureGermany = "Microsoft Cloud Deutschland (retired)";
constexpr std::string_view kAzureBleu = "Bleu (French sovereign cloud)";
constexpr std::string_view kAzureDelos = "Delos Cloud (German sovereign cloud)";

constexpr auto kAzureSovereignRegions = std::to_array<SovereignRegion>({
    {"bleufrancecentral", kAzureBleu},
    {"bleufrancesouth", kAzureBleu},
    {"chinaeast", kAzureChina},
    {"chinaeast2", kAzureChina},
    {"chinaeast3", kAzureChina},
    {"chinanorth", kAzureChina},
    {"chinanorth2", kAzureChina},
    {"chinanorth3", kAzureChina},
    {"deloscloudgermanycentral", kAzureDelos},
    {"deloscloudgermanynorth", kAzureDelos},
    {"germanycentral", kAzureGermany},
    {"germanynortheast", kAzureGermany},
    {"usdodcentral", kAzureGovernment},
    {"usdodeast", kAzureGovernment},
    {"usgovarizona", kAzureGovernment},
    {"usgoviowa", kAzureGovernment},
    {"usgovtexas", kAzureGovernment},
    {"usgovvirginia", kAzureGovernment},
    {"usnateast", kAzureGovernmentTopSecret},
    {"usnatwest", kAzureGovernmentTopSecret},
    {"usseceast", kAzureGovernmentSecret},
    {"ussecwest", kAzureGovernmentSecret},
    {"ussecwestcentral", kAzureGovernmentSecret},
});

// Sorted by cloud, in step with kClouds.
constexpr auto kCloudRegions = std::to_array<CloudRegions>({
    {"aws", kAwsPublicRegions, kAwsSovereignRegions},
    {"azure", kAzurePublicRegions, kAzureSovereignRegions},
});

// --- Compile-time checks of the data --------------------------------------------------------

/// True when every element is strictly less than the next: sorted and without duplicates, which
/// is what the binary searches below need.
template <typename Range, typename Proj = std::identity>
constexpr bool isStrictlySorted(const Range& range, Proj proj = {}) {
  return std::ranges::adjacent_find(range, std::ranges::greater_equal{}, proj) ==
         std::ranges::end(range);
}

/// Names are what the manifest must spell: non-empty, lowercase ASCII letters, digits and '-'.
constexpr bool isPlainName(std::string_view name) {
  return !name.empty() && std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

constexpr bool cloudDataIsValid(const CloudRegions& cloud) {
  if (!isStrictlySorted(cloud.public_regions) ||
      !isStrictlySorted(cloud.sovereign_regions, &SovereignRegion::name) ||
      !std::ranges::all_of(cloud.public_regions, isPlainName)) {
    return false;
  }
  return std::ranges::all_of(cloud.sovereign_regions, [&](const SovereignRegion& sovereign) {
    return isPlainName(sovereign.name) && !sovereign.note.empty() &&
           !std::ranges::binary_search(cloud.public_regions, sovereign.name);
  });
}

static_assert(isStrictlySorted(kClouds), "kClouds must be sorted and unique");
static_assert(std::ranges::equal(kClouds, kCloudRegions, {}, {}, &CloudRegions::cloud),
              "kCloudRegions must list the clouds of kClouds, in the same order");
static_assert(std::ranges::all_of(kCloudRegions, cloudDataIsValid),
              "region lists must be sorted, unique, lowercase, and a region is either public or "
              "sovereign, never both");

// --- Lookups --------------------------------------------------------------------------------

const CloudRegions* findCloud(std::string_view cloud) {
  const auto* it = std::ranges::lower_bound(kCloudRegions, cloud, {}, &CloudRegions::cloud);
  return it != kCloudRegions.end() && it->cloud == cloud ? it : nullptr;
}

const SovereignRegion* findSovereign(std::span<const SovereignRegion> regions,
                                     std::string_view region) {
  const auto it = std::ranges::lower_bound(regions, region, {}, &SovereignRegion::name);
  return it != regions.end() && it->name == region ? &*it : nullptr;
}

} // namespace

std::span<const std::string_view> knownClouds() {
  return kClouds;
}

std::span<const std::string_view> publicRegions(std::string_view cloud) {
  const CloudRegions* regions = findCloud(cloud);
  return regions != nullptr ? regions->public_regions : std::span<const std::string_view>{};
}

RegionLookup lookupRegion(std::string_view cloud, std::string_view region) {
  const CloudRegions* regions = findCloud(cloud);
  if (regions == nullptr) {
    return {RegionKind::kUnknown, {}};
  }
  if (std::ranges::binary_search(regions->public_regions, region)) {
    return {RegionKind::kSupported, {}};
  }
  if (const SovereignRegion* sovereign = findSovereign(regions->sovereign_regions, region)) {
    return {RegionKind::kUnsupportedSovereign, sovereign->note};
  }
  return {RegionKind::kUnknown, {}};
}

} // namespace exoflow::model
