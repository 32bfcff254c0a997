#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// ISO date formatting: `%Y-%m-%dT%H:%M:%S.%fZ` with exactly 6 fractional digits (e.g. `2024-01-01T12:00:00.123456Z`).
public enum JupyterDate {
    /// Formats a date in UTC with microsecond precision (rounded to the nearest microsecond).
    /// - Parameter date: The date.
    /// - Returns: The formatted string, e.g. `2024-01-01T12:00:00.123456Z`.
    public static func format(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        var output = ""
        output.reserveCapacity(27)
        append(year, width: 4, to: &output)
        output.append("-")
        append(month, width: 2, to: &output)
        output.append("-")
        append(day, width: 2, to: &output)
        output.append("T")
        append(secondOfDay / 3600, width: 2, to: &output)
        output.append(":")
        append(secondOfDay % 3600 / 60, width: 2, to: &output)
        output.append(":")
        append(secondOfDay % 60, width: 2, to: &output)
        output.append(".")
        append(fraction, width: 6, to: &output)
        output.append("Z")
        return output
    }

    /// The current time, formatted with ``format(_:)``.
    public static func now() -> String {
        format(Date())
    }

    private static func append(_ value: Int64, width: Int, to output: inout String) {
        let digits = String(value.magnitude)
        if value < 0 { output.append("-") }
        if digits.utf8.count < width {
            output.append(String(repeating: "0", count: width - digits.utf8.count))
        }
        output.append(digits)
    }

    /// Proleptic Gregorian calendar date from days since 1970-01-01 (Howard Hinnant's civil_from_days algorithm).
    private static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
