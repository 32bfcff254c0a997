import KubernetesAPI

/// "Does the live object already say what we want?": every member of the desired JSON is present with an
/// equal value in the actual JSON; members the server added (defaults, status) are ignored. Quantities
/// compare by value (`"0.5"` equals `"500m"`), numbers by value.
public enum JSONSubset {
    /// Whether `desired` is contained in `actual`.
    /// - Parameters:
    ///   - desired: What we render.
    ///   - actual: What the server has.
    public static func contains(_ actual: KubeJSON?, _ desired: KubeJSON) -> Bool {
        guard let actual else { return desired.isNull || desired == .emptyObject }
        switch (desired, actual) {
        case (.object(let wanted), .object(let have)):
            return wanted.allSatisfy { key, value in
                if let present = have[key] { return contains(present, value) }
                return value.isNull || value == .emptyObject || value == .array([])
            }
        case (.object(let wanted), .null):
            return wanted.isEmpty
        case (.array(let wanted), .array(let have)):
            return wanted.count == have.count && zip(wanted, have).allSatisfy { contains($1, $0) }
        default:
            return scalarsEqual(desired, actual)
        }
    }

    static func scalarsEqual(_ desired: KubeJSON, _ actual: KubeJSON) -> Bool {
        if desired == actual { return true }
        if let left = desired.doubleValue, let right = actual.doubleValue { return left == right }
        let left = desired.stringValue ?? desired.intValue.map(String.init)
        let right = actual.stringValue ?? actual.intValue.map(String.init)
        guard let left, let right else { return false }
        if left == right { return true }
        guard let a = Quantity.value(left), let b = Quantity.value(right) else { return false }
        return abs(a - b) <= max(abs(a), abs(b)) * 1e-9
    }
}
