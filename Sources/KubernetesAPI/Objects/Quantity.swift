/// Kubernetes resource quantities (`500m`, `1.5`, `8Gi`, `1e3`, `-2k`) as numbers: for comparing amounts and for
/// refusing text the API server would reject, never for writing quantities back.
///
/// The grammar is the API server's (`k8s.io/apimachinery/pkg/api/resource`):
///
///     quantity        ::= signedNumber suffix
///     signedNumber    ::= number | "+" number | "-" number
///     number          ::= digits | digits "." digits | digits "." | "." digits
///     suffix          ::= binarySI | decimalExponent | decimalSI
///     binarySI        ::= "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
///     decimalSI       ::= "n" | "u" | "m" | "" | "k" | "M" | "G" | "T" | "P" | "E"
///     decimalExponent ::= ("e" | "E") ("+" | "-")? digits
///
/// No white space is allowed anywhere, and `K` is not a suffix (only `k` and `Ki` are).
public enum Quantity {
    /// The longest text accepted: longer numbers only hide mistakes (the API server's own limit on precision
    /// is far shorter).
    public static let maximumLength = 64

    /// The value of a quantity in base units (cores, bytes, items), or `nil` when the text is not a quantity.
    public static func value(_ text: String) -> Double? {
        guard text.utf8.count <= maximumLength else { return nil }
        var bytes = Substring(text).utf8[...]
        var sign = 1.0
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            if first == UInt8(ascii: "-") { sign = -1 }
            bytes = bytes.dropFirst()
        }
        let whole = bytes.prefix { isDigit($0) }
        bytes = bytes.dropFirst(whole.count)
        var fraction = bytes.prefix(0)
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            fraction = bytes.prefix { isDigit($0) }
            bytes = bytes.dropFirst(fraction.count)
        }
        guard !whole.isEmpty || !fraction.isEmpty,
              let number = Double("0\(String(decoding: whole, as: UTF8.self)).\(String(decoding: fraction, as: UTF8.self))0"),
              let factor = factor(of: String(decoding: bytes, as: UTF8.self))
        else { return nil }
        let result = sign * number * factor
        return result.isFinite ? result : nil
    }

    /// The value of a quantity that is not negative (a resource request, limit or maximum), or `nil` when the text
    /// is not a quantity or names a negative amount.
    public static func amount(_ text: String) -> Double? {
        guard let value = value(text), value >= 0 else { return nil }
        return value
    }

    private static let binarySI: [String: Double] = [
        "Ki": 0x1p10, "Mi": 0x1p20, "Gi": 0x1p30, "Ti": 0x1p40, "Pi": 0x1p50, "Ei": 0x1p60,
    ]
    private static let decimalSI: [String: Double] = [
        "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    ]

    /// The multiplier a suffix stands for, or `nil` when it is none of the grammar's.
    private static func factor(of suffix: String) -> Double? {
        if let factor = binarySI[suffix] ?? decimalSI[suffix] { return factor }
        var exponent = suffix.utf8[...]
        guard exponent.first == UInt8(ascii: "e") || exponent.first == UInt8(ascii: "E") else { return nil }
        exponent = exponent.dropFirst()
        var negative = false
        if let first = exponent.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            exponent = exponent.dropFirst()
        }
        guard !exponent.isEmpty, exponent.count <= 4, exponent.allSatisfy(isDigit),
              let power = Int(String(decoding: exponent, as: UTF8.self)) else { return nil }
        return pow10(negative ? -power : power)
    }

    private static func pow10(_ power: Int) -> Double {
        var result = 1.0
        for _ in 0..<abs(power) { result *= 10 }
        return power < 0 ? 1 / result : result
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
