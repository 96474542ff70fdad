#include "synth/aws/aws.h"

namespace exoflow::synth::aws {

namespace {

/// SQS counts whole seconds; a duration with a fraction is rounded up.
std::int64_t seconds(model::Millis millis) {
  return (millis + 999) / 1000;
}

constexpr std::int64_t kDeadLetterRetention = 14LL * 24 * 3600; // the SQS maximum

} // namespace

ServiceUnit renderQueue(const model::QueueSpec& spec, const ServiceNames& names) {
  ServiceUnit unit;
  const std::string queue = names.id + "Queue";
  const std::string dlq = names.id + "DeadLetterQueue";
  Json props = {{"QueueName", names.name},
                {"VisibilityTimeout", seconds(spec.visibility_timeout)},
                {"MessageRetentionPeriod", seconds(spec.retention)},
                {"MaximumMessageSize", spec.max_message_size},
                {"SqsManagedSseEnabled", true}};
  if (spec.fifo) props["FifoQueue"] = true;
  if (spec.dead_letter_after) {
    Json dead = {{"QueueName", names.dead_letter},
                 {"MessageRetentionPeriod", kDeadLetterRetention},
                 {"SqsManagedSseEnabled", true}};
    if (spec.fifo) dead["FifoQueue"] = true;
    unit.part.addResource(dlq, "AWS::SQS::Queue", std::move(dead));
    props["RedrivePolicy"] = {{"deadLetterTargetArn", getAtt(dlq, "Arn")},
                              {"maxReceiveCount", *spec.dead_letter_after}};
  }
  unit.part.addResource(queue, "AWS::SQS::Queue", std::move(props));
  unit.part.addOutput(queue + "Url", cfnRef(queue), "URL of queue " + names.name);
  if (spec.dead_letter_after) {
    unit.part.addOutput(dlq + "Url", cfnRef(dlq), "URL of dead-letter queue " + names.dead_letter);
  }
  return unit;
}

} // namespace exoflow::synth::aws
