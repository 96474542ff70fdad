#pragma once
// "Did you mean" for unknown keys and values.

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace exoflow::manifest {

/// Edit distance with adjacent transpositions (optimal string alignment).
std::size_t editDistance(std::string_view a, std::string_view b);

/// The candidate closest to `word`, when it is close enough to be a likely typo: a case-only
/// difference, or an edit distance of at most 1 for short words and 2 for longer ones.
std::optional<std::string_view> closestMatch(std::string_view word,
                                             std::span<const std::string_view> candidates);

/// "a, b or c"
std::string joinAlternatives(std::span<const std::string_view> words);

} // namespace exoflow::manifest
