#pragma once
// The clouds and regions ExoFlow v1 knows, kept as data in one place (regions.cc). The manifest
// validator checks `targets[].region` here; renderers may rely on a kSupported region being a
// real public commercial region of its cloud.

#include <span>
#include <string_view>

namespace exoflow::model {

/// What the tool knows about a (cloud, region) pair.
enum class RegionKind {
  kSupported,            ///< a public commercial region of the cloud (opt-in regions included)
  kUnsupportedSovereign, ///< a real region of a government, China or sovereign partition: not in v1
  kUnknown,              ///< the cloud or the region is not one we know
};

/// The answer of lookupRegion().
struct RegionLookup {
  RegionKind kind;
  /// For kUnsupportedSovereign, a short phrase naming the partition, fit to follow "is in", e.g.
  /// "AWS GovCloud (US)", "AWS China", "Azure Government", "Azure China",
  /// "AWS European Sovereign Cloud". Empty otherwise. Points into static storage.
  std::string_view note;
};

/// Clouds v1 knows, sorted: {"aws", "azure"}.
std::span<const std::string_view> knownClouds();

/// The public commercial regions of a cloud (opt-in ones included), sorted, without duplicates;
/// empty for an unknown cloud. Names are exactly as the cloud spells them ("us-east-1",
/// "eastus"). The views point into static storage.
std::span<const std::string_view> publicRegions(std::string_view cloud);

/// Classifies a region of a cloud. Matching is exact and case-sensitive, as the manifest is
/// ("EastUS" is kUnknown). An unknown cloud gives kUnknown for any region, and a region of one
/// cloud is kUnknown for the other.
RegionLookup lookupRegion(std::string_view cloud, std::string_view region);

} // namespace exoflow::model
