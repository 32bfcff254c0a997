import Foundation
import KubernetesAPI

/// Stable JSON text (sorted keys) and a stable hash of JSON values, for ConfigMap files and change detection.
public enum CanonicalJSON {
    /// The value as JSON text with sorted keys.
    /// - Parameters:
    ///   - value: The value.
    ///   - pretty: Indent (for files people read).
    public static func text(_ value: KubeJSON, pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self) + (pretty ? "\n" : "")
    }

    /// A 64-bit FNV-1a hash of the value's canonical text, as 16 hex digits (change detection, not security).
    public static func hash(_ value: KubeJSON) -> String {
        hash(text: text(value))
    }

    /// A 64-bit FNV-1a hash of a string, as 16 hex digits.
    public static func hash(text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
