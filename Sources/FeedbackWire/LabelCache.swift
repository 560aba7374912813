import FastCollections
import Foundation

/// Label objects already decoded, by their exact JSON bytes: an event whose `labels` bytes equal ones read
/// before gets those labels without reading its strings, building a dictionary or interning it (together a
/// fifth of decoding an event). A complete JSON object ends where it ends, so bytes equal to an object read
/// before read the same. Small, for one poll; cleared when three quarters full.
///
/// ```swift
/// var cache = LabelCache()
/// let events = records.map { DecodedEvent.decode(json: $0.payload, fallbackID: "…", labels: &cache) }
/// ```
package struct LabelCache {
    private struct Entry {
        var hash: UInt64
        var bytes: [UInt8]
        var labels: EventLabels
    }

    private var slots: [Entry?] = Array(repeating: nil, count: 64)
    private var count = 0

    package init() {}

    /// The labels read before from exactly these bytes (a whole JSON object, braces included).
    package func labels(for bytes: UnsafeBufferPointer<UInt8>) -> EventLabels? {
        let hash = Self.hash(bytes)
        var slot = Int(truncatingIfNeeded: hash) & (slots.count - 1)
        while let entry = slots[slot] {
            if entry.hash == hash, Self.equal(entry.bytes, bytes) { return entry.labels }
            slot = (slot + 1) & (slots.count - 1)
        }
        return nil
    }

    /// Remembers that `bytes` read as `labels`; returns them as ``EventLabels``.
    package mutating func add(_ bytes: UnsafeBufferPointer<UInt8>, _ labels: [String: String]) -> EventLabels {
        let labels = EventLabels(labels)
        if count >= slots.count * 3 / 4 {
            slots = Array(repeating: nil, count: slots.count)
            count = 0
        }
        let hash = Self.hash(bytes)
        var slot = Int(truncatingIfNeeded: hash) & (slots.count - 1)
        while slots[slot] != nil { slot = (slot + 1) & (slots.count - 1) }
        slots[slot] = Entry(hash: hash, bytes: Array(bytes), labels: labels)
        count += 1
        return labels
    }

    /// `memcmp` (`elementsEqual` compared byte by byte through the generic `Sequence` path: a tenth of
    /// decoding an event).
    private static func equal(_ stored: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard stored.count == bytes.count else { return false }
        guard let other = bytes.baseAddress, !bytes.isEmpty else { return true }
        return stored.withUnsafeBufferPointer { memcmp($0.baseAddress!, other, bytes.count) == 0 }
    }

    /// ``PairHash`` of the bytes (not stored anywhere).
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        PairHash.of(UnsafeRawBufferPointer(bytes))
    }
}
