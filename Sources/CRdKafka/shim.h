// Shim over librdkafka for Swift. Macros with casts and variadic functions do not import into Swift;
// the few we need are re-exposed here as constants and static inline functions.
#pragma once
#include <librdkafka/rdkafka.h>

/// RD_KAFKA_PARTITION_UA: let the partitioner choose (by key).
static const int32_t feedback_partition_unassigned = RD_KAFKA_PARTITION_UA;
/// The events the producer serves from its main queue: delivery report batches and errors.
static const int feedback_producer_events = RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR;
/// RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT
static const int feedback_purge_all = RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT;

/// rd_kafka_produce with a copy of key and payload; returns the error code directly instead of via errno.
static inline rd_kafka_resp_err_t feedback_produce(rd_kafka_topic_t *rkt, const void *payload, size_t len,
                                                   const void *key, size_t keylen, void *opaque) {
    if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)payload, len, key, keylen,
                         opaque) == -1) {
        return rd_kafka_last_error();
    }
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/// rd_kafka_produce_batch to the partitioner's choice, copying each key and payload. One topic lock and one
/// clock reading for the whole batch instead of per message; each message's outcome is left in its `err`.
static inline int feedback_produce_batch(rd_kafka_topic_t *rkt, rd_kafka_message_t *messages, int count) {
    return rd_kafka_produce_batch(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, messages, count);
}

/// rd_kafka_produce_batch where each message names its partition (`partition` field; RD_KAFKA_PARTITION_UA:
/// the partitioner's choice), copying each key and payload. librdkafka looks a partition up only when it
/// differs from the previous message's, so a batch grouped by partition skips the per-message partitioner.
static inline int feedback_produce_batch_partitioned(rd_kafka_topic_t *rkt, rd_kafka_message_t *messages,
                                                     int count) {
    return rd_kafka_produce_batch(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_PARTITION,
                                  messages, count);
}
