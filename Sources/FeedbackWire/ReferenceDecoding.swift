import Feedback
import Foundation

extension DecodedEvent {
    /// The reference decoding, through `JSONSerialization`, and the one place that says why a record is not an
    /// event: for what the fast reader (`EventJSONReader`) leaves to it, and for every record it refuses.
    /// Enforces ``EventWireFormat/Limits`` and the type of every field it knows; `null` reads as absent.
    package init(reference payload: [UInt8], fallbackID: String) throws(WireError) {
        typealias Limits = EventWireFormat.Limits
        if payload.count > Limits.maxRecordBytes {
            throw .overLimit("the record is \(payload.count) bytes: at most \(Limits.maxRecordBytes)")
        }
        if Self.nesting(payload) > Limits.maxDepth {
            throw .overLimit("arrays and objects nest deeper than \(Limits.maxDepth) levels")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else {
            throw .notJSON
        }
        let fields = Fields(object: object)
        guard let itemID = try fields.id(EventWireFormat.itemID) else {
            throw .notAnEvent("no item_id (a string) — every event names its item")
        }
        guard let type = try fields.id(EventWireFormat.type), !type.isEmpty else {
            throw .notAnEvent("no type (a string) — every event names its type")
        }
        guard
            let time = Self.validTime(
                milliseconds: try fields.integer(EventWireFormat.timestampMs),
                seconds: try fields.integer(EventWireFormat.timestamp))
        else { throw .timeOutOfRange }
        timestampMs = time
        self.itemID = itemID
        self.type = type
        kind = EventKind(type)
        eventID = try fields.id(EventWireFormat.eventID) ?? fallbackID
        requestID = try fields.id(EventWireFormat.requestID) ?? ""
        userID = try fields.id(EventWireFormat.userID) ?? ""
        deviceID = try fields.id(EventWireFormat.deviceID) ?? ""
        scene = try fields.id(EventWireFormat.scene) ?? ""
        position = Int(try fields.integer(EventWireFormat.position) ?? 0)
        score = try fields.number(EventWireFormat.score) ?? 0
        labels = EventLabels(try fields.labels())
        let extras = Fields(object: try fields.object(EventWireFormat.extras) ?? [:], prefix: "extras.")
        amount = try extras.number(EventWireFormat.amount)
        if let amount, let problem = Limits.problem(amount: amount) { throw .overLimit(problem) }
        category = try extras.id(EventWireFormat.category)
        hashIDs()
    }

    /// The deepest nesting of arrays and objects in `json` (strings skipped), counted without recursion.
    static func nesting(_ json: [UInt8]) -> Int {
        var (depth, deepest, inString, escaped) = (0, 0, false, false)
        for byte in json {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    /// An event object's fields, each read with its type checked.
    private struct Fields {
        let object: [String: Any]
        var prefix = ""

        private func value(_ key: String) -> Any? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            return value
        }

        /// A number that is not `true`/`false` (which Foundation hands over as numbers too).
        private func numeric(_ key: String) throws(WireError) -> NSNumber? {
            guard let value = value(key) else { return nil }
            guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else {
                throw .wrongType(field: prefix + key, expected: "a number")
            }
            return number
        }

        func id(_ key: String) throws(WireError) -> String? {
            guard let value = value(key) else { return nil }
            guard let text = value as? String else { throw .wrongType(field: prefix + key, expected: "a string") }
            if let problem = EventWireFormat.Limits.problem(id: text, field: prefix + key) { throw .overLimit(problem) }
            return text
        }

        func number(_ key: String) throws(WireError) -> Double? {
            guard let value = try numeric(key)?.doubleValue else { return nil }
            guard value.isFinite else { throw .wrongType(field: prefix + key, expected: "a finite number") }
            return value
        }

        /// An integer (a fraction is cut off, as before); one outside Int64 is out of range.
        func integer(_ key: String) throws(WireError) -> Int64? {
            guard let number = try numeric(key) else { return nil }
            if let exact = number as? Int64 { return exact }
            let value = number.doubleValue
            guard value.isFinite, value > -9.2e18, value < 9.2e18 else {
                throw .wrongType(field: prefix + key, expected: "an integer within ±9.2e18")
            }
            return Int64(value)
        }

        func object(_ key: String) throws(WireError) -> [String: Any]? {
            guard let value = value(key) else { return nil }
            guard let object = value as? [String: Any] else {
                throw .wrongType(field: prefix + key, expected: "an object")
            }
            return object
        }

        func labels() throws(WireError) -> [String: String] {
            guard let object = try object(EventWireFormat.labels) else { return [:] }
            typealias Limits = EventWireFormat.Limits
            if object.count > Limits.maxLabels {
                throw .overLimit("\(object.count) labels: at most \(Limits.maxLabels)")
            }
            var labels: [String: String] = [:]
            for (name, value) in object {
                guard let text = value as? String else {
                    throw .wrongType(field: "labels.\(name.prefix(40))", expected: "a string")
                }
                if name.utf8.count > Limits.maxLabelBytes || text.utf8.count > Limits.maxLabelBytes {
                    throw .overLimit("label \(name.prefix(40)) is longer than \(Limits.maxLabelBytes) bytes")
                }
                labels[name] = text
            }
            return labels
        }
    }
}
