#include <fmt/format.h>

#include "cli/commands.h"

namespace exoflow::cli {

std::string starterManifest(std::string_view name) {
  return fmt::format(R"(# exoflow.yaml: one description of the app, for every cloud it runs on.
# Reference: docs/manifest.md. Check it with `exoflow validate`.
exoflow: 1
app: {0}

# How the app runs on each instance, and locally with `exoflow up`.
compute:
  run: ./bin/{0} --port 8080   # the command that starts the app
  port: 8080                    # the app's HTTP port
  health: /healthz              # probed by load balancers and failover checks
  # artifact: ./dist            # what deploy packages (default: this folder)
  # size: small                 # small | medium | large | xlarge
  # scale: {{min: 2, max: 4, cpu: 60}}
  # env: {{LOG_LEVEL: info}}

# Load-balanced HTTP routes; a path may end with one "*".
routes:
  - path: /*

# Extra ports opened to the instances.
# ports:
#   - {{port: 22, protocol: tcp, from: 10.0.0.0/8}}

# Abstract services, reached through exo-proxy by name on every cloud.
services:
  jobs:
    kind: queue
    visibility_timeout: 30s
  files:
    kind: objects
  # cache:
  #   kind: kv
  # db:
  #   kind: database
  #   engine: postgres
  #   version: "16"

# Where it is deployed, in failover priority order.
targets:
  - {{cloud: aws, region: us-east-1}}
  # - {{cloud: azure, region: eastus}}

# With two or more targets, say how to fail over between them:
# failover:
#   mode: active-passive
#   data: {{queues: failover, objects: async, kv: async}}
)",
                     name);
}

} // namespace exoflow::cli
