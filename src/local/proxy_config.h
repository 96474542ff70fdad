#pragma once
// The exo-proxy configuration `exoflow up` writes: every service of the manifest bound to the
// embedded local.sqlite backend (databases to the server `exoflow up` started), in the proxy
// config format of API.md.

#include <map>
#include <string>

#include "model/app.h"

namespace exoflow::local {

/// Connection details of the local database server for each database service, by name.
struct LocalDatabase {
  std::string engine; ///< "postgres" or "mysql"
  std::string host;
  int port = 0;
  std::string database;
  std::string user;
  std::string password;
};

/// The config text. The token is not written: the proxy reads it from ${EXO_TOKEN}.
std::string renderLocalProxyConfig(const model::App& app,
                                   const std::map<std::string, LocalDatabase>& databases);

} // namespace exoflow::local
