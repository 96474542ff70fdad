#include "model/app.h"

namespace exoflow::model {

std::string_view cloudName(Cloud cloud) {
  return cloud == Cloud::kAws ? "aws" : "azure";
}

std::string_view sizeName(Size size) {
  switch (size) {
  case Size::kSmall:
    return "small";
  case Size::kMedium:
    return "medium";
  case Size::kLarge:
    return "large";
  case Size::kXlarge:
    return "xlarge";
  }
  return "small";
}

std::string_view engineName(DbEngine engine) {
  return engine == DbEngine::kPostgres ? "postgres" : "mysql";
}

} // namespace exoflow::model
