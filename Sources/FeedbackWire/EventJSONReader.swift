import FastCollections
import Feedback
import Foundation

/// A single-pass reader for the flat JSON events the collector writes.
///
/// Hand-written rather than `JSONSerialization` because that builds an `NSDictionary` of `NSNumber`s and
/// bridges it back per event, which was most of the processor's time. It reads only what the processor
/// needs and skips the rest (any JSON); anything it is not sure to read exactly as `JSONSerialization`
/// would (a non-string label, a fractional `timestamp_ms`, ...) makes it give up, and the caller falls
/// back to `JSONSerialization`, so both paths always agree.
package struct EventJSONReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    /// Where the last string read sits in `bytes`, when its UTF-8 is exactly those bytes (nil: it had
    /// escapes): the ids are hashed there, not read again from the Strings made of them.
    private var lastString: Range<Int>?

    /// Thrown for anything the reader leaves to `JSONSerialization` (including invalid JSON), and for records
    /// it refuses outright (`final`: too large or too deep, which the reference decoding would also refuse —
    /// and should not be made to read).
    package struct Unsupported: Error {
        var final = false
    }

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The fields of one event: nil when the event lacks `item_id` or `type` (invalid for the processor).
    package static func decode(
        _ payload: [UInt8], fallbackID: @autoclosure () -> String
    ) throws(Unsupported) -> DecodedEvent? {
        var labels = LabelCache()
        return try decode(payload, fallbackID: fallbackID(), labels: &labels)
    }

    /// ``decode(_:fallbackID:)``, label objects read before taken from `labels`.
    package static func decode(
        _ payload: [UInt8], fallbackID: @autoclosure () -> String, labels: inout LabelCache
    ) throws(Unsupported) -> DecodedEvent? {
        try payload.withUnsafeBufferPointer { buffer throws(Unsupported) in
            try decode(buffer, fallbackID: fallbackID(), labels: &labels)
        }
    }

    /// ``decode(_:fallbackID:labels:)`` of bytes where they lie.
    package static func decode(
        _ payload: UnsafeBufferPointer<UInt8>, fallbackID: @autoclosure () -> String, labels: inout LabelCache
    ) throws(Unsupported) -> DecodedEvent? {
        try withUnsafeTemporaryAllocation(of: DecodedEvent.self, capacity: 1) { slot throws(Unsupported) in
            try decode(payload, fallbackID: fallbackID(), labels: &labels, initializing: slot.baseAddress!)
                ? slot.baseAddress!.move() : nil
        }
    }

    /// ``decode(_:fallbackID:labels:)`` into `slot` (uninitialized memory): true when it initialized `slot`
    /// with the event, false when the event lacks `item_id` or `type` (`slot` left uninitialized, as it is
    /// when this throws). The event is built where it is kept: returned, it was copied twice more on its way
    /// into a poll's array (a tenth of the reading thread's time, with the ids' retains and releases).
    package static func decode(
        _ payload: UnsafeBufferPointer<UInt8>, fallbackID: @autoclosure () -> String, labels: inout LabelCache,
        initializing slot: UnsafeMutablePointer<DecodedEvent>
    ) throws(Unsupported) -> Bool {
        if payload.count > EventWireFormat.Limits.maxRecordBytes { throw Unsupported(final: true) }
        var reader = EventJSONReader(payload)
        return try reader.event(fallbackID: fallbackID, labelCache: &labels, initializing: slot)
    }

    /// A JSON object of strings (stored impression labels).
    package static func stringObject(_ json: String) throws(Unsupported) -> [String: String] {
        try Array(json.utf8).withUnsafeBufferPointer { buffer throws(Unsupported) in
            var reader = EventJSONReader(buffer)
            var object: [String: String] = [:]
            try reader.expect(UInt8(ascii: "{"))
            var key = try reader.firstKey()
            while let name = key {
                if object[name] != nil { throw Unsupported() }
                object[name] = try reader.string()
                key = try reader.followingKey()
            }
            reader.skipSpace()
            guard reader.index == buffer.count else { throw Unsupported() }
            return object
        }
    }

    private mutating func event(
        fallbackID: () -> String, labelCache: inout LabelCache, initializing slot: UnsafeMutablePointer<DecodedEvent>
    ) throws(Unsupported) -> Bool {
        var itemID: String?
        var type: String?
        var kind = EventKind.other
        var eventID: String?
        var requestID = ""
        var userID = ""
        var deviceID = ""
        var scene = ""
        var timestampMs: Int64?
        var timestamp: Int64?
        var position = 0
        var score = 0.0
        var labels = EventLabels.empty
        var amount: Double?
        var category: String?
        // The ids' bytes, for their hashes; an absent one is empty, nil when it is not its bytes as they are.
        var (idBytes, itemBytes): (Range<Int>?, Range<Int>?) = (nil, nil)
        var (requestBytes, userBytes, deviceBytes): (Range<Int>?, Range<Int>?, Range<Int>?) = (0..<0, 0..<0, 0..<0)
        try expect(UInt8(ascii: "{"))
        var fieldsSeen: UInt32 = 0
        var predicted = 0
        var nextField = try firstField(predicted: &predicted)
        while let field = nextField {
            // A repeated key is left to JSONSerialization.
            if field != .other {
                if fieldsSeen & (1 << field.rawValue) != 0 { throw Unsupported() }
                fieldsSeen |= 1 << field.rawValue
            }
            // A null where a string belongs reads as absent, as `as? String` does.
            switch field {
            case .itemID:
                itemID = try optionalString()
                itemBytes = itemID == nil ? nil : lastString
            case .type:
                if let known = knownType() {
                    (type, kind) = (known.type, known.kind)
                } else {
                    type = try optionalString()
                    kind = type.map { EventKind($0) } ?? .other
                }
            case .eventID:
                eventID = try optionalString()
                idBytes = eventID == nil ? nil : lastString
            case .requestID:
                let value = try optionalString()
                (requestID, requestBytes) = (value ?? "", value == nil ? 0..<0 : lastString)
            case .userID:
                let value = try optionalString()
                (userID, userBytes) = (value ?? "", value == nil ? 0..<0 : lastString)
            case .deviceID:
                let value = try optionalString()
                (deviceID, deviceBytes) = (value ?? "", value == nil ? 0..<0 : lastString)
            case .scene: scene = try optionalString() ?? ""
            case .timestampMs: timestampMs = try integer()
            case .timestamp: timestamp = try integer()
            case .position: position = Int(try integer())
            case .score: score = try number()
            case .labels:
                let start = index
                if let end = firstBraceEnd(from: start),
                    let known = labelCache.labels(for: UnsafeBufferPointer(rebasing: bytes[start..<end]))
                {
                    labels = known
                    index = end
                    break
                }
                try expect(UInt8(ascii: "{"))
                var read: [String: String] = [:]
                var label = try firstKey()
                while let name = label {
                    if read[name] != nil { throw Unsupported() }
                    read[name] = try string()
                    label = try followingKey()
                }
                if !Self.labelsWithinLimits(read) { throw Unsupported() }
                if firstBraceEnd(from: start) == index {
                    labels = labelCache.add(UnsafeBufferPointer(rebasing: bytes[start..<index]), read)
                } else {
                    labels = EventLabels(read)
                }
            case .extras:
                try expect(UInt8(ascii: "{"))
                var extrasSeen: UInt32 = 0
                var extra = try firstRawKey()
                while let name = extra {
                    let field = Field(bytes, name)
                    switch field {
                    case .amount, .category:
                        if extrasSeen & (1 << field.rawValue) != 0 { throw Unsupported() }
                        extrasSeen |= 1 << field.rawValue
                        if field == .amount { amount = try number() } else { category = try optionalString() }
                    default: try skipValue(depth: 2)
                    }
                    extra = try followingRawKey()
                }
            default: try skipValue(depth: 1)
            }
            nextField = try followingField(predicted: &predicted)
        }
        skipSpace()
        guard index == bytes.count else { throw Unsupported() }
        guard let itemID, let type, !type.isEmpty,
            let time = DecodedEvent.validTime(milliseconds: timestampMs, seconds: timestamp)
        else { return false }
        // The wire format's limits: the reference decoding gives the reason for what passes none of them.
        guard
            Self.idWithinLimits(itemID, itemBytes), Self.idWithinLimits(eventID ?? "", idBytes),
            Self.idWithinLimits(requestID, requestBytes), Self.idWithinLimits(userID, userBytes),
            Self.idWithinLimits(deviceID, deviceBytes), Self.idWithinLimits(scene, nil),
            Self.idWithinLimits(type, nil), Self.idWithinLimits(category ?? "", nil),
            amount.map({ EventWireFormat.Limits.problem(amount: $0) == nil }) ?? true
        else { throw Unsupported() }
        // Each value moved into the event: copied, each String cost a retain here and a release at the return.
        slot.initialize(
            to: DecodedEvent(
                eventID: (consume eventID) ?? fallbackID(), requestID: consume requestID, userID: consume userID,
                deviceID: consume deviceID, itemID: consume itemID, scene: consume scene, type: consume type,
                kind: kind, timestampMs: time, position: position, score: score, labels: consume labels,
                amount: amount, category: consume category))
        if let idBytes, let requestBytes, let userBytes, let deviceBytes, let itemBytes {
            let raw = UnsafeRawBufferPointer(bytes)
            func at(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: raw[range]) }
            // What `hashIDs()` computes from the Strings (the profile key: the user, else the device).
            let profile = at(userBytes.isEmpty ? deviceBytes : userBytes)
            slot.pointee.idHash = EventIDHash.of(at(idBytes))
            slot.pointee.profileHash = PairHash.of(profile, at(0..<0))
            slot.pointee.pairHash = PairHash.of(requestBytes.isEmpty ? profile : at(requestBytes), at(itemBytes))
        } else {
            slot.pointee.hashIDs()
        }
        return true
    }

    /// An id within ``EventWireFormat/Limits``: `bytes` is where it lay unescaped (the reader refused raw
    /// control bytes there, so only its length is left to check); nil when it had escapes, or is not an id.
    @inline(__always) private static func idWithinLimits(_ id: String, _ bytes: Range<Int>?) -> Bool {
        if let bytes { return bytes.count <= EventWireFormat.Limits.maxIDBytes }
        return EventWireFormat.Limits.problem(id: id, field: "") == nil
    }

    private static func labelsWithinLimits(_ labels: [String: String]) -> Bool {
        typealias Limits = EventWireFormat.Limits
        return labels.count <= Limits.maxLabels
            && labels.allSatisfy {
                $0.key.utf8.count <= Limits.maxLabelBytes && $0.value.utf8.count <= Limits.maxLabelBytes
            }
    }

    // MARK: - Structure

    /// After an object's `{`: its first key (with the `:` read), or nil for an empty object.
    private mutating func firstKey() throws(Unsupported) -> String? {
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return nil
        }
        return try key()
    }

    /// After a member's value: the next key (with the `:` read), or nil at the object's `}`.
    private mutating func followingKey() throws(Unsupported) -> String? {
        skipSpace()
        switch next() {
        case UInt8(ascii: ","): return try key()
        case UInt8(ascii: "}"): return nil
        default: throw Unsupported()
        }
    }

    /// The fields the processor reads, recognised from a key's bytes without making a String.
    private enum Field: Int {
        case itemID, type, eventID, requestID, userID, deviceID, scene, timestampMs, timestamp, position, score
        case labels, extras, amount, category, other

        init(_ bytes: UnsafeBufferPointer<UInt8>, _ key: Range<Int>) {
            func `is`(_ name: StaticString) -> Bool {
                name.utf8CodeUnitCount == key.count
                    && name.withUTF8Buffer {
                        memcmp($0.baseAddress!, bytes.baseAddress! + key.lowerBound, key.count) == 0
                    }
            }
            self =
                switch key.count {
                case 4: `is`("type") ? .type : .other
                case 5: `is`("scene") ? .scene : `is`("score") ? .score : .other
                case 6: `is`("labels") ? .labels : `is`("extras") ? .extras : `is`("amount") ? .amount : .other
                case 7: `is`("item_id") ? .itemID : `is`("user_id") ? .userID : .other
                case 8:
                    `is`("event_id") ? .eventID : `is`("position") ? .position : `is`("category") ? .category : .other
                case 9: `is`("device_id") ? .deviceID : `is`("timestamp") ? .timestamp : .other
                case 10: `is`("request_id") ? .requestID : .other
                case 12: `is`("timestamp_ms") ? .timestampMs : .other
                default: .other
                }
        }
    }

    /// After the first `}` from the `{` at `start`: where that object ends if no string or object inside it
    /// holds a `}`. Only a key for `LabelCache`, which is right whatever it returns: its entries are whole
    /// objects read before, and bytes starting with a whole object are that object here too (an object ends
    /// where it ends). Found by `memchr` (scanning for every byte that matters — quotes, escapes, brackets —
    /// was a tenth of decoding an event).
    private func firstBraceEnd(from start: Int) -> Int? {
        guard start < bytes.count, bytes[start] == UInt8(ascii: "{"), let base = bytes.baseAddress,
            let brace = memchr(base + start + 1, Int32(UInt8(ascii: "}")), bytes.count - start - 1)
        else { return nil }
        return UnsafeRawPointer(brace) - UnsafeRawPointer(base) + 1
    }

    /// The keys in the order the collector writes them: a key found where it is expected is recognised by one
    /// comparison of its bytes, quotes and colon included (scanning each key for its end, then matching it
    /// by length, was a sixth of decoding an event). Any other order reads the same, key by key.
    ///
    /// A switch of constants rather than a static array, which cost a `swift_once` call and a bounds check per
    /// key: the patterns fold into the comparisons.
    @inline(__always) private static func usualKey(_ position: Int) -> (field: Field, key: BytePattern)? {
        switch position {
        case 0: (.userID, BytePattern("\"user_id\":"))
        case 1: (.itemID, BytePattern("\"item_id\":"))
        case 2: (.scene, BytePattern("\"scene\":"))
        case 3: (.type, BytePattern("\"type\":"))
        case 4: (.timestamp, BytePattern("\"timestamp\":"))
        case 5: (.position, BytePattern("\"position\":"))
        case 6: (.score, BytePattern("\"score\":"))
        case 7: (.labels, BytePattern("\"labels\":"))
        case 8: (.extras, BytePattern("\"extras\":"))
        case 9: (.eventID, BytePattern("\"event_id\":"))
        case 10: (.requestID, BytePattern("\"request_id\":"))
        case 11: (.deviceID, BytePattern("\"device_id\":"))
        case 12: (.timestampMs, BytePattern("\"timestamp_ms\":"))
        case 13: (.other, BytePattern("\"schema_version\":"))
        default: nil
        }
    }

    /// Where `field` is in the usual order (nil for `.other`).
    private static func usualPosition(_ field: Field) -> Int? {
        switch field {
        case .userID: 0
        case .itemID: 1
        case .scene: 2
        case .type: 3
        case .timestamp: 4
        case .position: 5
        case .score: 6
        case .labels: 7
        case .extras: 8
        case .eventID: 9
        case .requestID: 10
        case .deviceID: 11
        case .timestampMs: 12
        case .amount, .category, .other: nil
        }
    }

    /// After an object's `{`: its first key's field (with the `:` read), or nil for an empty object.
    private mutating func firstField(predicted: inout Int) throws(Unsupported) -> Field? {
        if let field = predictedField(&predicted) { return field }
        guard let key = try firstRawKey() else { return nil }
        return Self.recognised(Field(bytes, key), predicted: &predicted)
    }

    /// After a member's value: the next key's field (with the `:` read), or nil at the object's `}`.
    private mutating func followingField(predicted: inout Int) throws(Unsupported) -> Field? {
        if index < bytes.count, bytes[index] == UInt8(ascii: ",") {
            index += 1
            if let field = predictedField(&predicted) { return field }
            skipSpace()
            return Self.recognised(Field(bytes, try rawKey()), predicted: &predicted)
        }
        guard let key = try followingRawKey() else { return nil }
        return Self.recognised(Field(bytes, key), predicted: &predicted)
    }

    /// The field of the key expected next, read with its `:`, if it is the one here.
    @inline(__always) private mutating func predictedField(_ predicted: inout Int) -> Field? {
        guard let (field, key) = Self.usualKey(predicted), let base = bytes.baseAddress else { return nil }
        guard index + key.count <= bytes.count, key.matches(UnsafeRawPointer(base), at: index) else { return nil }
        index += key.count
        skipSpace()
        predicted += 1
        return field
    }

    /// `field`, read key by key: the key after it in the usual order is expected next.
    private static func recognised(_ field: Field, predicted: inout Int) -> Field {
        if let position = usualPosition(field) { predicted = position + 1 }
        return field
    }

    /// Like `firstKey`, but the key's byte range (a key with escapes is left to JSONSerialization).
    private mutating func firstRawKey() throws(Unsupported) -> Range<Int>? {
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return nil
        }
        return try rawKey()
    }

    private mutating func followingRawKey() throws(Unsupported) -> Range<Int>? {
        skipSpace()
        switch next() {
        case UInt8(ascii: ","):
            skipSpace()
            return try rawKey()
        case UInt8(ascii: "}"): return nil
        default: throw Unsupported()
        }
    }

    private mutating func rawKey() throws(Unsupported) -> Range<Int> {
        try expect(UInt8(ascii: "\""))
        let start = index
        // Eight bytes at a time up to the closing quote (keys are plain ASCII names; any other byte — which
        // might not be valid UTF-8 — is left to the reference decoding, as the fuzz target found).
        if let base = bytes.baseAddress.map(UnsafeRawPointer.init) {
            while index + 8 <= bytes.count {
                let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let stops =
                    ByteWord.matching(word, UInt8(ascii: "\"")) | ByteWord.matching(word, UInt8(ascii: "\\"))
                    | ByteWord.below(word, 0x20) | ByteWord.nonASCII(word)
                if stops == 0 {
                    index += 8
                    continue
                }
                index += ByteWord.firstFlagged(stops)
                break
            }
        }
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            if bytes[index] == UInt8(ascii: "\\") || bytes[index] < 0x20 || bytes[index] >= 0x80 { throw Unsupported() }
            index += 1
        }
        guard index < bytes.count else { throw Unsupported() }
        let key = start..<index
        index += 1
        try expect(UInt8(ascii: ":"))
        skipSpace()
        return key
    }

    private mutating func key() throws(Unsupported) -> String {
        let key = try string()
        try expect(UInt8(ascii: ":"))
        skipSpace()
        return key
    }

    /// Skips one value inside a container `depth` levels deep (the event's object is 1); refuses a value that
    /// would nest deeper than ``EventWireFormat/Limits/maxDepth`` (so recursion is bounded, whatever the input).
    private mutating func skipValue(depth: Int) throws(Unsupported) {
        skipSpace()
        switch peek() {
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "{"):
            guard depth < EventWireFormat.Limits.maxDepth else { throw Unsupported(final: true) }
            index += 1
            var key = try firstKey()
            while key != nil {
                try skipValue(depth: depth + 1)
                key = try followingKey()
            }
        case UInt8(ascii: "["):
            guard depth < EventWireFormat.Limits.maxDepth else { throw Unsupported(final: true) }
            index += 1
            skipSpace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                try skipValue(depth: depth + 1)
                skipSpace()
                switch next() {
                case UInt8(ascii: ","): continue
                case UInt8(ascii: "]"): return
                default: throw Unsupported()
                }
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try numberLiteral()
        }
    }

    // MARK: - Values

    private mutating func optionalString() throws(Unsupported) -> String? {
        if peek() == UInt8(ascii: "n") {
            try literal("null")
            return nil
        }
        return try string()
    }

    /// A type most events carry (read, with its quotes) and its kind, if one is here; nil, nothing read,
    /// otherwise. Matched by one comparison of its bytes (constants: no static table to look up), the String
    /// and the kind taken from here instead of made from the bytes and compared.
    private mutating func knownType() -> (type: String, kind: EventKind)? {
        guard let base = bytes.baseAddress.map(UnsafeRawPointer.init) else { return nil }
        func here(_ json: BytePattern) -> Bool {
            guard index + json.count <= bytes.count, json.matches(base, at: index) else { return false }
            index += json.count
            return true
        }
        if here(BytePattern("\"impression\"")) { return ("impression", .impression) }
        if here(BytePattern("\"click\"")) { return ("click", .click) }
        if here(BytePattern("\"conversion\"")) { return ("conversion", .conversion) }
        return nil
    }

    private mutating func string() throws(Unsupported) -> String {
        skipSpace()
        try expect(UInt8(ascii: "\""))
        let start = index
        // Most strings are plain ASCII ids: read 8 bytes at a time up to the first byte that is not plain
        // (a byte-wise loop from the word holding it was a sixth of decoding an event); the closing quote,
        // most often.
        if let base = bytes.baseAddress.map(UnsafeRawPointer.init) {
            while index + 8 <= bytes.count {
                let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let stops =
                    ByteWord.matching(word, UInt8(ascii: "\"")) | ByteWord.matching(word, UInt8(ascii: "\\"))
                    | ByteWord.below(word, 0x20) | ByteWord.nonASCII(word)
                if stops == 0 {
                    index += 8
                    continue
                }
                index += ByteWord.firstFlagged(stops)
                break
            }
        }
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
                lastString = start..<index
                index += 1
                if ascii {
                    // Copied into the String's own storage (for ids up to 15 bytes, the String itself):
                    // `String(decoding:as:)` took a third more instructions per id to get there.
                    return String(unsafeUninitializedCapacity: text.count) { $0.initialize(fromContentsOf: text) }
                }
                // Invalid UTF-8 is left to JSONSerialization.
                guard let valid = String(validating: text, as: UTF8.self) else { throw Unsupported() }
                return valid
            }
            if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
            if byte < 0x20 { throw Unsupported() }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        throw Unsupported()
    }

    /// The slow path of `string()`: a string with escapes, decoded into bytes from `start`.
    private mutating func escapedString(from start: Int) throws(Unsupported) -> String {
        lastString = nil
        var utf8 = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                // Lone surrogates and invalid UTF-8 are left to JSONSerialization.
                guard let text = String(validating: utf8, as: UTF8.self) else { throw Unsupported() }
                return text
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw Unsupported() }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard next() == UInt8(ascii: "\\"), next() == UInt8(ascii: "u") else { throw Unsupported() }
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw Unsupported() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw Unsupported() }
                    utf8.append(contentsOf: String(Character(unicode)).utf8)
                default: throw Unsupported()
                }
            default:
                if byte < 0x20 { throw Unsupported() }
                utf8.append(byte)
            }
        }
        throw Unsupported()
    }

    private mutating func hex4() throws(Unsupported) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = next()
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw Unsupported()
            }
            value = value << 4 | digit
        }
        return value
    }

    /// A JSON integer without fraction or exponent that fits 15 digits (larger or fractional ones: fallback).
    /// Its value is read as its digits are scanned (scanning the number, then reading its digits again, was a
    /// tenth of decoding an event).
    private mutating func integer() throws(Unsupported) -> Int64 {
        let negative = peek() == UInt8(ascii: "-")
        let digitsStart = negative ? index + 1 : index
        var position = digitsStart
        var value: Int64 = 0
        while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 {
            value = value &* 10 &+ Int64(bytes[position] &- UInt8(ascii: "0"))
            position += 1
        }
        let digits = position - digitsStart
        // JSON's grammar: a digit at least, no leading zero; a fraction or exponent is no integer.
        guard digits > 0, digits <= 15, bytes[digitsStart] != UInt8(ascii: "0") || digits == 1 else {
            throw Unsupported()
        }
        if position < bytes.count,
            bytes[position] == UInt8(ascii: ".") || bytes[position] | 0x20 == UInt8(ascii: "e")
        {
            throw Unsupported()
        }
        index = position
        return negative ? -value : value
    }

    private mutating func number() throws(Unsupported) -> Double {
        let (start, end, isInteger) = try numberLiteral()
        if isInteger, end - start <= 15 {
            index = start
            return Double(try integer())
        }
        if let value = shortDecimal(start, end) { return value }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw Unsupported() }
        return value
    }

    /// A number with a fraction, no exponent and at most 15 digits (scores: `0.731`), as its digits over a
    /// power of ten: both exact in a Double (below 2^53 and 10^22), so the one division rounds correctly,
    /// as parsing the text does (Clinger's fast path). Nil for any other number.
    private func shortDecimal(_ start: Int, _ end: Int) -> Double? {
        var digits: Int64 = 0
        var count = 0
        var fraction = -1  // digits after the point, once it is passed
        for position in start..<end {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits = digits * 10 + Int64(byte - UInt8(ascii: "0"))
                count += 1
                if fraction >= 0 { fraction += 1 }
            case UInt8(ascii: "."): fraction = 0
            case UInt8(ascii: "-"): continue
            default: return nil  // an exponent
            }
            if count > 15 { return nil }
        }
        guard fraction >= 0 else { return nil }
        let value = Double(digits) / Self.powersOfTen[fraction]
        return bytes[start] == UInt8(ascii: "-") ? -value : value
    }

    private static let powersOfTen: [Double] = (0...15).map { exponent in
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }

    /// Scans a number per JSON's grammar; returns its bounds and whether it has no fraction or exponent.
    private mutating func numberLiteral() throws(Unsupported) -> (Int, Int, Bool) {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        let first = index
        guard digits() > 0 else { throw Unsupported() }
        // A leading zero may not be followed by more digits.
        if bytes[first] == UInt8(ascii: "0"), index - first > 1 { throw Unsupported() }
        var isInteger = true
        if peek() == UInt8(ascii: ".") {
            index += 1
            isInteger = false
            guard digits() > 0 else { throw Unsupported() }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            isInteger = false
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw Unsupported() }
        }
        return (start, index, isInteger)
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    private mutating func literal(_ word: StaticString) throws(Unsupported) {
        let (bytes, start) = (self.bytes, index)
        let length = word.utf8CodeUnitCount
        let matches = word.withUTF8Buffer { expected in
            start + length <= bytes.count && expected.indices.allSatisfy { bytes[start + $0] == expected[$0] }
        }
        guard matches else { throw Unsupported() }
        index += length
    }

    // MARK: - Bytes

    @inline(__always) private func peek() -> UInt8 { index < bytes.count ? bytes[index] : 0 }

    @inline(__always) private mutating func next() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    @inline(__always) private mutating func expect(_ byte: UInt8) throws(Unsupported) {
        // Compact JSON (the collector's): the byte is there, no space before it.
        if index < bytes.count, bytes[index] == byte {
            index += 1
            return
        }
        skipSpace()
        guard next() == byte else { throw Unsupported() }
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }
}
