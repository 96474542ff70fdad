#pragma once
// The manifest's abstract sizes and database versions, mapped to each cloud's offerings in
// one place. Every cloud renderer reads these tables; none names an instance type itself.

#include <optional>
#include <span>
#include <string_view>

#include "model/app.h"

namespace exoflow::synth {

/// What `compute.size` means on each cloud.
struct ComputeSize {
  model::Size size;
  std::string_view aws_instance_type; ///< EC2, x86_64 (the AMI parameter is x86_64)
  std::string_view azure_vm_size;     ///< VM scale set SKU
};

/// What a database's `size` means on each cloud.
struct DatabaseSize {
  model::Size size;
  std::string_view aws_instance_class; ///< RDS DBInstanceClass
  std::string_view azure_sku;          ///< flexible server SKU name
  std::string_view azure_tier;         ///< Burstable | GeneralPurpose | MemoryOptimized
};

/// A manifest engine version and what each cloud calls it.
struct EngineVersion {
  model::DbEngine engine;
  std::string_view version;       ///< as the manifest writes it: "16", "8.0"
  std::string_view aws_version;   ///< RDS EngineVersion
  std::string_view azure_version; ///< flexible server version; empty: Azure does not offer it
};

std::span<const ComputeSize> computeSizes();
std::span<const DatabaseSize> databaseSizes();
std::span<const EngineVersion> engineVersions();

const ComputeSize& computeSize(model::Size size);
const DatabaseSize& databaseSize(model::Size size);
/// Every version the manifest accepts is in the table; anything else gives nullopt.
std::optional<EngineVersion> engineVersion(model::DbEngine engine, std::string_view version);

/// The port each engine listens on.
int enginePort(model::DbEngine engine);

} // namespace exoflow::synth
