import Foundation
import Logging

/// How log lines look (`--log-format`): swift-log's text lines, or one JSON object per line.
enum LogFormat: String, Sendable {
    case text
    case json

    /// Parses a setting's value.
    static func parse(_ text: String) throws -> LogFormat {
        guard let format = LogFormat(rawValue: text.lowercased().trimmingCharacters(in: .whitespaces)) else {
            throw SettingsError.invalid(key: "log-format", value: text, expected: "text or json")
        }
        return format
    }

    /// The handler that writes lines of this format to standard error.
    func handler(label: String, level: Logger.Level) -> any LogHandler {
        switch self {
        case .text:
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        case .json:
            var handler = JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
