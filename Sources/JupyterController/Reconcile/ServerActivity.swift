import Foundation
import KubernetesAPI

/// Why a notebook server's activity could not be read. Each becomes the reason of the `IdleCheckFailed` condition;
/// none stops the notebook.
public enum IdleCheckError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No address, or the connection failed.
    case unreachable(String)
    /// No complete answer within the probe's time limit.
    case timedOut(seconds: Int)
    /// The answer was larger than the probe reads.
    case tooLarge(limit: Int)
    /// An HTTP status other than 200 (401/403: the notebook's token is not accepted).
    case httpStatus(Int)
    /// The body is not jupyter_server's `/api/status` model.
    case malformed(String)

    /// A readable explanation.
    public var description: String {
        switch self {
        case .unreachable(let detail): return "the notebook server's /api/status is unreachable: \(detail)"
        case .timedOut(let seconds): return "the notebook server's /api/status did not answer within \(seconds) s"
        case .tooLarge(let limit): return "the notebook server's /api/status answer exceeds \(limit) bytes"
        case .httpStatus(let code): return "the notebook server's /api/status answered HTTP \(code)"
        case .malformed(let detail): return "the notebook server's /api/status answer is not a status model: \(detail)"
        }
    }

    /// A `CamelCase` reason for the condition.
    public var reason: String {
        switch self {
        case .unreachable: return "StatusUnreachable"
        case .timedOut: return "StatusTimeout"
        case .tooLarge: return "StatusTooLarge"
        case .httpStatus(let code): return code == 401 || code == 403 ? "StatusForbidden" : "StatusHTTPError"
        case .malformed: return "StatusMalformed"
        }
    }
}

/// What jupyter_server's `GET /api/status` says about its activity: `last_activity` (the latest of its start, its
/// API requests, its kernels' and terminals' activity), open kernel `connections` and `kernels`.
public struct ServerActivity: Sendable, Hashable {
    /// The server's last activity.
    public var lastActivity: Date
    /// Open kernel connections (browser tabs).
    public var connections: Int
    /// Running kernels.
    public var kernels: Int

    /// Creates an observation.
    public init(lastActivity: Date, connections: Int, kernels: Int) {
        self.lastActivity = lastActivity
        self.connections = connections
        self.kernels = kernels
    }

    /// Longest `last_activity` text accepted (an ISO 8601 time is about 32 characters).
    static let maxTimeLength = 64

    /// Parses the body of `/api/status`. Hostile input: anything but an object with a `last_activity` ISO 8601 time
    /// is ``IdleCheckError/malformed(_:)``; counts that are missing or not small non-negative integers read as 0.
    public static func parse(_ body: [UInt8]) throws(IdleCheckError) -> ServerActivity {
        guard let json = try? JSONDecoder().decode(KubeJSON.self, from: Data(body)), json.objectValue != nil else {
            throw .malformed("not a JSON object")
        }
        guard let text = json["last_activity"]?.stringValue else { throw .malformed("no last_activity string") }
        guard text.count <= maxTimeLength, let time = parseTime(text) else {
            throw .malformed("last_activity \(text.prefix(maxTimeLength).debugDescription) is not an ISO 8601 time")
        }
        func count(_ key: String) -> Int {
            guard let value = json[key]?.intValue, value >= 0 else { return 0 }
            return Int(min(value, 1_000_000))
        }
        return ServerActivity(lastActivity: time, connections: count("connections"), kernels: count("kernels"))
    }

    /// An ISO 8601 time as jupyter_server writes it (`2026-12-06T06:45:01.123456Z`, or with `+00:00`): the fraction,
    /// of any length, is read separately (Foundation's formatter takes milliseconds only).
    static func parseTime(_ text: String) -> Date? {
        var whole = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else { return nil }
            fraction = Double("0." + String(digits.prefix(9))) ?? 0
            whole = String(text[..<dot]) + String(text[text.index(after: dot)...].dropFirst(digits.count))
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: whole).map { $0.addingTimeInterval(fraction) }
    }
}
