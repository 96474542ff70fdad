#include "synth/sizes.h"

#include <array>
#include <stdexcept>

namespace exoflow::synth {

namespace {

using model::DbEngine;
using model::Size;

// Burstable for small, then general purpose doubling at each step. The RDS classes are
// Graviton (db.t4g, db.m7g), which RDS offers for every PostgreSQL and MySQL version below.
constexpr std::array<ComputeSize, 4> kComputeSizes = {{
    {Size::kSmall, "t3.medium", "Standard_B2s"},
    {Size::kMedium, "m7i.large", "Standard_D2s_v5"},
    {Size::kLarge, "m7i.xlarge", "Standard_D4s_v5"},
    {Size::kXlarge, "m7i.2xlarge", "Standard_D8s_v5"},
}};

constexpr std::array<DatabaseSize, 4> kDatabaseSizes = {{
    {Size::kSmall, "db.t4g.medium", "Standard_B2s", "Burstable"},
    {Size::kMedium, "db.m7g.large", "Standard_D2ds_v5", "GeneralPurpose"},
    {Size::kLarge, "db.m7g.xlarge", "Standard_D4ds_v5", "GeneralPurpose"},
    {Size::kXlarge, "db.m7g.2xlarge", "Standard_D8ds_v5", "GeneralPurpose"},
}};

// RDS versions are pinned to a minor: cfn-lint 1.51 flags the bare majors ("16") as
// deprecated and MySQL takes no bare major at all. Each one is accepted with every class
// above (tests/synth runs cfn-lint on templates that use them all); RDS upgrades the minor
// version itself (AutoMinorVersionUpgrade). Azure's versions are those the flexible server
// APIs in tests/synth/arm-schemas accept; "" means Azure does not offer it (MySQL 8.4 is not
// in API 2023-12-30 or 2024-12-30).
constexpr std::array<EngineVersion, 7> kEngineVersions = {{
    {DbEngine::kPostgres, "13", "13.20", "13"},
    {DbEngine::kPostgres, "14", "14.17", "14"},
    {DbEngine::kPostgres, "15", "15.12", "15"},
    {DbEngine::kPostgres, "16", "16.8", "16"},
    {DbEngine::kPostgres, "17", "17.4", "17"},
    {DbEngine::kMysql, "8.0", "8.0.42", "8.0.21"},
    {DbEngine::kMysql, "8.4", "8.4.5", ""},
}};

} // namespace

std::span<const ComputeSize> computeSizes() {
  return kComputeSizes;
}
std::span<const DatabaseSize> databaseSizes() {
  return kDatabaseSizes;
}
std::span<const EngineVersion> engineVersions() {
  return kEngineVersions;
}

const ComputeSize& computeSize(model::Size size) {
  for (const ComputeSize& row : kComputeSizes) {
    if (row.size == size) return row;
  }
  throw std::logic_error("no compute size row");
}

const DatabaseSize& databaseSize(model::Size size) {
  for (const DatabaseSize& row : kDatabaseSizes) {
    if (row.size == size) return row;
  }
  throw std::logic_error("no database size row");
}

std::optional<EngineVersion> engineVersion(model::DbEngine engine, std::string_view version) {
  for (const EngineVersion& row : kEngineVersions) {
    if (row.engine == engine && row.version == version) return row;
  }
  return std::nullopt;
}

int enginePort(model::DbEngine engine) {
  return engine == DbEngine::kPostgres ? 5432 : 3306;
}

} // namespace exoflow::synth
