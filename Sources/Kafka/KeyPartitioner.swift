import CRdKafka

/// librdkafka's default partitioner, `consistent_random` — CRC-32 of the key modulo the partition count, a
/// random available partition for a message without key — with the CRC computed here, a table lookup per
/// byte.
///
/// librdkafka computes it with zlib's `crc32_z`, whose set-up cost dominates for keys as short as user ids:
/// 7 % of the collector's sender thread in perf. The partition of every key is the same as librdkafka's own
/// (and kcat's, and any librdkafka client's with the default partitioner): the same standard CRC-32.
enum KeyPartitioner {
    /// The reflected CRC-32 (IEEE 802.3, polynomial 0xEDB88320) table; allocated once, never freed.
    /// nonisolated(unsafe): filled once inside the lazy initialiser (swift_once), only read afterwards.
    nonisolated(unsafe) private static let table: UnsafePointer<UInt32> = {
        let table = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
        for index in 0..<256 {
            var value = UInt32(index)
            for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1 }
            table[index] = value
        }
        return UnsafePointer(table)
    }()

    /// The CRC-32 of `bytes`, as zlib's `crc32(0, bytes, count)`.
    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let table = Self.table
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }

    /// The partition of a message with `key` among `partitionCount` partitions: exactly the callback's choice.
    static func partition(key: UnsafeRawBufferPointer, partitionCount: Int32) -> Int32 {
        Int32(truncatingIfNeeded: crc32(key) % UInt32(partitionCount))
    }

    /// The partitioner callback for `rd_kafka_topic_conf_set_partitioner_cb`. The topic's opaque is the
    /// producer's ``ProducerCallbacks``, which learns the partition count here.
    static let callback:
        @convention(c) (
            OpaquePointer?, UnsafeRawPointer?, Int, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?
        ) -> Int32 = { topic, key, keyLength, partitionCount, topicOpaque, messageOpaque in
            if let topicOpaque, partitionCount > 0 {
                // Learnt for our own routing (`KafkaProducer.produce(count:...)`): librdkafka's current count.
                Unmanaged<ProducerCallbacks>.fromOpaque(topicOpaque).takeUnretainedValue()
                    .learn(partitionCount: partitionCount)
            }
            guard let key, keyLength > 0, partitionCount > 0 else {
                return rd_kafka_msg_partitioner_consistent_random(
                    topic, key, keyLength, partitionCount, topicOpaque, messageOpaque)
            }
            return partition(key: UnsafeRawBufferPointer(start: key, count: keyLength), partitionCount: partitionCount)
        }
}
