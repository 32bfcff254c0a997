import Foundation
import KubernetesAPI
import Yams

/// YAML (or JSON) lists from clients (`KERNEL_VOLUMES`, `KERNEL_VOLUME_MOUNTS`), parsed safely: bounded in
/// size and nesting, and refused when they use anchors, aliases or tags, *before* any YAML tree is built,
/// so a few hundred bytes of aliases can never expand into gigabytes.
enum RequestYAML {
    /// Largest text accepted, in bytes.
    static let maxBytes = 4096
    /// Deepest flow nesting (`[` / `{`) accepted.
    static let maxFlowDepth = 16

    /// Why a text was refused by ``check(_:)``.
    enum Problem: Error, Equatable {
        case tooLarge, tooDeep, anchorOrAlias, tag
    }

    /// Parses `text` as a list of mappings.
    /// - Throws: ``GatewayError/invalidRequest(_:)`` naming `variable` when the text is too large, uses anchors,
    ///   aliases or tags, is not YAML, or is not a list of mappings.
    static func parseListOfMappings(_ text: String, variable: String) throws(GatewayError) -> [KubeJSON] {
        do {
            try check(text)
        } catch .tooLarge {
            throw .invalidRequest("\(variable) is longer than \(maxBytes) bytes")
        } catch .tooDeep {
            throw .invalidRequest("\(variable) is nested more than \(maxFlowDepth) levels deep")
        } catch {
            throw .invalidRequest("\(variable) may not use YAML anchors, aliases or tags")
        }
        let value: KubeJSON
        do { value = KernelPodRenderer.kubeJSON(fromYAML: try Yams.load(yaml: text) as Any) } catch {
            throw .invalidRequest("\(variable) must be a list of mappings (JSON or YAML)")
        }
        guard let items = value.arrayValue, items.allSatisfy({ $0.objectValue != nil }) else {
            throw .invalidRequest("\(variable) must be a list of mappings (JSON or YAML)")
        }
        return items
    }

    /// A lexical scan (no tree): refuses texts over `limit` bytes (``maxBytes`` unless given), flow nesting over
    /// ``maxFlowDepth``, and any `&anchor`, `*alias` or `!tag` that starts a token outside quotes and comments.
    /// Conservative: an `*` or `&` starting a word inside a plain scalar (`a *b`) is refused too.
    static func check(_ text: String, limit: Int = maxBytes) throws(Problem) {
        let bytes = Array(text.utf8)
        guard bytes.count <= limit else { throw .tooLarge }
        enum Mode { case plain, single, double, comment }
        var mode = Mode.plain
        var depth = 0
        var previous: UInt8 = UInt8(ascii: "\n")
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch mode {
            case .comment:
                if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { mode = .plain }
            case .single:
                if byte == UInt8(ascii: "'") {
                    if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "'") { index += 1 } else { mode = .plain }
                }
            case .double:
                if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { mode = .plain }
            case .plain:
                let startsToken = isBoundary(previous)
                switch byte {
                case UInt8(ascii: "&"), UInt8(ascii: "*"):
                    if startsToken { throw .anchorOrAlias }
                case UInt8(ascii: "!"):
                    if startsToken { throw .tag }
                case UInt8(ascii: "'"):
                    if startsToken { mode = .single }
                case UInt8(ascii: "\""):
                    if startsToken { mode = .double }
                case UInt8(ascii: "#"):
                    if isWhitespace(previous) { mode = .comment }
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    depth += 1
                    if depth > maxFlowDepth { throw .tooDeep }
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    depth = max(0, depth - 1)
                default:
                    break
                }
            }
            previous = index < bytes.count ? bytes[index] : previous
            index += 1
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }

    /// Bytes after which a new YAML token (node, anchor, alias, tag, quoted scalar) may start.
    private static func isBoundary(_ byte: UInt8) -> Bool {
        isWhitespace(byte) || "[]{},:-?|>".utf8.contains(byte)
    }
}
