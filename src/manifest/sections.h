#pragma once
// Internal to the manifest validator: one checker per top-level section. Each reads its field,
// reports every problem through the Checker and fills its part of the model.

#include <vector>

#include "manifest/checker.h"
#include "model/app.h"

namespace exoflow::manifest {

/// Places the cross-section rules need after the sections have been read.
struct CrossMarks {
  struct FifoQueue {
    Mark mark;
    std::string path;
  };
  std::vector<FifoQueue> fifo_queues; ///< `fifo: true` fields
};

void checkCompute(Checker& c, const Field& f, model::App& app);
void checkRoutes(Checker& c, const Field& f, model::App& app);
void checkPorts(Checker& c, const Field& f, model::App& app);
void checkServices(Checker& c, const Field& f, model::App& app, CrossMarks& marks);
void checkTargets(Checker& c, const Field& f, model::App& app);
void checkFailover(Checker& c, const Field& f, model::App& app);
/// Rules that span sections: what a target's cloud cannot give.
void checkCapabilities(Checker& c, const model::App& app, const CrossMarks& marks);

} // namespace exoflow::manifest
