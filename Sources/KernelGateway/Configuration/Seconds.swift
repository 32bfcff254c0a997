import Foundation

/// Numbers of seconds from clients and settings, turned into `Duration`s without ever trapping:
/// `inf`, `nan`, `1e300` or a negative value is refused (or clamped), never converted blindly.
public enum Seconds {
    /// The largest number of seconds any timeout or interval accepts: one year.
    public static let largestAccepted: Double = 31_536_000

    /// The value of `text` as seconds, or nil unless it is a finite number in `0...largestAccepted`.
    public static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        // Decimal notation only (Swift's `Double` also reads `0x1p4`, `inf` and `nan`).
        guard trimmed.utf8.count <= 64, trimmed.utf8.allSatisfy({ "0123456789.eE+-".utf8.contains($0) }),
              let value = Double(trimmed) else { return nil }
        return isAcceptable(value) ? value : nil
    }

    /// Whether `value` is a finite number in `0...largestAccepted`.
    public static func isAcceptable(_ value: Double) -> Bool {
        value.isFinite && value >= 0 && value <= largestAccepted
    }

    /// `seconds` as a `Duration` with millisecond precision, clamped to `0...largestAccepted` (NaN → 0).
    public static func duration(_ seconds: Double) -> Duration {
        guard !seconds.isNaN else { return .zero }
        let clamped = min(max(seconds, 0), largestAccepted)
        return .milliseconds(Int64((clamped * 1000).rounded()))
    }
}
