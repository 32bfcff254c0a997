extension KubeJSON: ExpressibleByNilLiteral {
    /// `nil` is JSON `null`.
    public init(nilLiteral: ()) { self = .null }
}

extension KubeJSON: ExpressibleByBooleanLiteral {
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension KubeJSON: ExpressibleByIntegerLiteral {
    /// An integer literal.
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension KubeJSON: ExpressibleByFloatLiteral {
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension KubeJSON: ExpressibleByStringLiteral {
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension KubeJSON: ExpressibleByArrayLiteral {
    /// An array literal.
    public init(arrayLiteral elements: KubeJSON...) { self = .array(elements) }
}

extension KubeJSON: ExpressibleByDictionaryLiteral {
    /// A dictionary literal (later duplicates win).
    public init(dictionaryLiteral elements: (String, KubeJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension KubeJSON {
    /// A JSON object of strings, e.g. for labels or annotations.
    public init(_ map: [String: String]) {
        self = .object(map.mapValues { .string($0) })
    }

    /// A JSON array of strings.
    public init(_ strings: [String]) {
        self = .array(strings.map { .string($0) })
    }
}
