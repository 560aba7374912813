import ArgumentParser

/// Range checks for numeric options: a number out of range (`nan`, `inf`, a negative count, one that would
/// overflow a conversion further on) is a usage error, never a trap at run time.
enum OptionCheck {
    /// Throws unless `value` is a finite number in `range`.
    static func number(_ value: Double, _ option: String, in range: ClosedRange<Double>, _ unit: String) throws {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError(
                "\(option) \(value): use \(text(range.lowerBound)) to \(text(range.upperBound)) \(unit)")
        }
    }

    /// Throws unless `value` is in `range`.
    static func integer(_ value: Int, _ option: String, in range: ClosedRange<Int>, _ unit: String) throws {
        guard range.contains(value) else {
            throw ValidationError("\(option) \(value): use \(range.lowerBound) to \(range.upperBound) \(unit)")
        }
    }

    /// Throws unless `value` is at least `minimum`.
    static func integer(_ value: Int, _ option: String, atLeast minimum: Int, _ unit: String) throws {
        guard value >= minimum else { throw ValidationError("\(option) \(value): use \(minimum) or more \(unit)") }
    }

    private static func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// A failure at run time that is not a usage mistake: printed as `Error: <what to fix>`, without the usage
/// text (which `ValidationError` adds), exit status 1.
struct RunFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
