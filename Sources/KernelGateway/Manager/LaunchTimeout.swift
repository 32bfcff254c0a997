import Foundation

/// The client's `KERNEL_LAUNCH_TIMEOUT`: checked when a start is requested, clamped to the gateway's maximum.
enum LaunchTimeout {
    /// The variable clients set (EG's name).
    static let variable = "KERNEL_LAUNCH_TIMEOUT"

    /// The launch timeout for a kernel with `environment`: the client's value when it is lower than `maximum`,
    /// otherwise `maximum`. An empty value is ignored.
    /// - Throws: ``GatewayError/invalidRequest(_:)`` unless the value is a number of seconds greater than 0
    ///   and at most ``Seconds/largestAccepted`` (`inf`, `nan`, `1e300`, `-1` and `abc` are all refused).
    static func resolve(_ environment: [String: String], maximum: Duration) throws(GatewayError) -> Duration {
        guard let text = environment[variable], !text.trimmingCharacters(in: .whitespaces).isEmpty else { return maximum }
        guard let seconds = Seconds.parse(text), seconds > 0 else {
            throw .invalidRequest(
                "\(variable) must be a number of seconds greater than 0 and at most \(Int(Seconds.largestAccepted)); got '\(text.prefix(40))'")
        }
        return min(maximum, Seconds.duration(seconds))
    }
}
