/// Arbitrary JSON as found in Kubernetes manifests (specs, statuses, patches, custom resources).
///
/// Integers and floating-point numbers are kept apart so that integer fields (`replicas`, `generation`,
/// ports…) survive a decode/encode round trip unchanged.
public enum KubeJSON: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` / `false`.
    case bool(Bool)
    /// A number without fraction or exponent that fits in 64 bits.
    case int(Int64)
    /// Any other number.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([KubeJSON])
    /// An object.
    case object([String: KubeJSON])

    /// An empty object, `{}`.
    public static var emptyObject: KubeJSON { .object([:]) }

    /// The member `key` of an object; `nil` for other values or a missing key.
    ///
    /// Setting on `null` turns the value into an object first; setting on any other non-object is ignored.
    /// Setting `nil` removes the member (it does not write `null`; use `.null` for that, e.g. in a merge patch).
    public subscript(key: String) -> KubeJSON? {
        get {
            if case .object(let members) = self { return members[key] }
            return nil
        }
        set {
            var members: [String: KubeJSON]
            switch self {
            case .object(let existing): members = existing
            case .null: members = [:]
            default: return
            }
            members[key] = newValue
            self = .object(members)
        }
    }

    /// The element at `index` of an array; `nil` for other values or an out-of-range index.
    /// Setting replaces an existing element (out-of-range or non-array sets are ignored; `nil` removes it).
    public subscript(index: Int) -> KubeJSON? {
        get {
            guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
            return elements[index]
        }
        set {
            guard case .array(var elements) = self, elements.indices.contains(index) else { return }
            if let newValue { elements[index] = newValue } else { elements.remove(at: index) }
            self = .array(elements)
        }
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The boolean, if this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The number as an `Int`, if this is an integer (or a double with an exact integer value).
    public var intValue: Int? {
        switch self {
        case .int(let value): return Int(exactly: value)
        case .double(let value): return Int(exactly: value)
        default: return nil
        }
    }

    /// The number as a `Double`, if this is any number.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The elements, if this is an array.
    public var arrayValue: [KubeJSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, if this is an object.
    public var objectValue: [String: KubeJSON]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool { self == .null }

    /// A `[String: String]` view of an object whose members are all strings (labels, annotations, data);
    /// members that are not strings are skipped. `nil` if this is not an object.
    public var stringMapValue: [String: String]? {
        guard case .object(let members) = self else { return nil }
        return members.compactMapValues(\.stringValue)
    }
}
