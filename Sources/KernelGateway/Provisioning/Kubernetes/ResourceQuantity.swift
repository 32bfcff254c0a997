/// Kubernetes resource quantities (`500m`, `2`, `1Gi`, `512Mi`, `1G`), enough to compare a request
/// with a kernelspec's maximum.
public enum ResourceQuantity {
    /// The numeric value in base units (cores, bytes), or nil when malformed.
    public static func parse(_ text: String) -> Double? {
        let trimmed = text
        // Only what the API server accepts: decimal digits, an optional fraction, an optional suffix.
        guard !trimmed.isEmpty, trimmed.count <= 32,
              trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0.isLetter) }),
              trimmed.first?.isNumber == true || trimmed.first == "."
        else { return nil }
        let numeric = trimmed.prefix { $0.isNumber || $0 == "." }
        let suffix = trimmed.dropFirst(numeric.count)
        guard ["", "m", "k", "K", "M", "G", "T", "Ki", "Mi", "Gi", "Ti"].contains(String(suffix)),
              numeric.filter({ $0 == "." }).count <= 1 else { return nil }
        let suffixes: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1024 * 1024), ("Gi", 1024 * 1024 * 1024), ("Ti", 1024 * 1024 * 1024 * 1024),
            ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("m", 1e-3),
        ]
        for (suffix, factor) in suffixes where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)), number >= 0 else { return nil }
            return number * factor
        }
        guard let number = Double(trimmed), number >= 0, number.isFinite else { return nil }
        return number
    }
}

import Foundation
