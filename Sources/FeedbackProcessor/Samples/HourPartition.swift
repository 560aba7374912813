/// Where a sample of an impression at a given time goes: its UTC hour as Hive-style partition folders.
///
/// ```swift
/// HourPartition.path(ofMs: 1_704_067_200_000)  // "dt=2024-01-01/hour=00"
/// ```
enum HourPartition {
    /// `dt=YYYY-MM-DD/hour=HH` of a Unix time in milliseconds, in UTC. Integer arithmetic (Howard Hinnant's
    /// civil-from-days) rather than `Calendar`, which cost more than writing the sample.
    static func path(ofMs milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let hour = (seconds - days * 86_400) / 3600
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(year)
        let paddedYear = String(repeating: "0", count: max(0, 4 - yearText.count)) + yearText
        return "dt=\(paddedYear)-\(two(month))-\(two(day))/hour=\(two(hour))"
    }
}
