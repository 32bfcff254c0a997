/// Range checks of a JupyterGateway's numbers: a CR may carry any integer up to 2^63 − 1 (the API server does
/// not enforce `format: int32`), and the controller must neither trap on one nor hand it to the gateway.
extension JupyterGatewaySpec {
    /// Each integer field, its value and its accepted range.
    var rangedFields: [(field: String, value: Int?, range: ClosedRange<Int>)] {
        [
            ("kernelLaunchTimeout", kernelLaunchTimeout, 1...86_400),
            ("cullIdleTimeout", cullIdleTimeout, -1...31_536_000),
            ("cullInterval", cullInterval, 1...86_400),
            ("cullMaxAge", cullMaxAge, 0...31_536_000),
            ("replicas", replicas, 0...1_000),
            ("maxKernels", maxKernels, 0...100_000),
            ("maxKernelsPerUser", maxKernelsPerUser, 0...100_000),
        ]
    }

    /// `spec.<field> must be between …` for every field out of range; empty when all are fine.
    public var rangeProblems: [String] {
        rangedFields.compactMap { entry in
            guard let value = entry.value, !entry.range.contains(value) else { return nil }
            return "spec.\(entry.field) must be between \(entry.range.lowerBound) and \(entry.range.upperBound)"
        }
    }

    /// `kernelLaunchTimeout` (default 60) within its range.
    public var launchTimeoutInRange: Int {
        min(86_400, max(1, kernelLaunchTimeout ?? Self.defaultLaunchTimeout))
    }
}
