import Foundation

/// A JupyterKernelSpec's `logo`: a `data:` URI of a PNG or SVG image, checked and turned into the kernelspec
/// resource file the gateway serves at `/kernelspecs/{name}/{file}` (and lists in `/api/kernelspecs`).
public struct KernelSpecLogo: Sendable, Hashable {
    /// The file name in the kernelspec directory: `logo-64x64.png` or `logo-svg.svg` (Jupyter's names).
    public var fileName: String
    /// The image bytes.
    public var bytes: Data

    /// Largest decoded image: small launcher icons only (every logo shares the gateway's 1 MiB kernelspec ConfigMap).
    public static let maximumBytes = 16 * 1024
    /// Largest `logo` text (the CRD's `maxLength`): the base64 of ``maximumBytes`` plus the URI's header.
    public static let maximumLength = 22_000

    /// Why a logo is refused.
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        /// Longer than ``maximumLength``, or larger than ``maximumBytes`` once decoded.
        case tooLarge
        /// Not `data:image/png;base64,…` or `data:image/svg+xml;base64,…` (or `…;utf8,` / `,` for SVG text).
        case notADataURI
        /// Not valid base64.
        case notBase64
        /// The bytes are not the declared image type.
        case notTheDeclaredImage
        /// An SVG with scripts, event handlers, `javascript:` links or embedded HTML (the gateway serves it from
        /// its own origin).
        case activeContent

        /// For the refusal message.
        public var description: String {
            switch self {
            case .tooLarge: "larger than \(KernelSpecLogo.maximumBytes) bytes"
            case .notADataURI: "not a data: URI of image/png or image/svg+xml"
            case .notBase64: "not valid base64"
            case .notTheDeclaredImage: "not the image type it declares"
            case .activeContent: "an SVG with scripts, event handlers or embedded HTML"
            }
        }
    }

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Parses and checks a `logo`.
    /// - Parameter text: The `data:` URI.
    public init(_ text: String) throws(Problem) {
        guard text.utf8.count <= Self.maximumLength else { throw .tooLarge }
        guard text.hasPrefix("data:"), let comma = text.firstIndex(of: ",") else { throw .notADataURI }
        let header = text[text.index(text.startIndex, offsetBy: 5)..<comma].lowercased()
        let payload = String(text[text.index(after: comma)...])
        let parts = header.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        let isBase64 = parts.dropFirst().contains("base64")
        switch parts.first ?? "" {
        case "image/png":
            guard isBase64 else { throw .notADataURI }
            fileName = "logo-64x64.png"
            bytes = try Self.decode(payload)
            guard bytes.starts(with: Self.pngSignature) else { throw .notTheDeclaredImage }
        case "image/svg+xml":
            fileName = "logo-svg.svg"
            if isBase64 {
                bytes = try Self.decode(payload)
            } else {
                guard let decoded = payload.removingPercentEncoding else { throw .notADataURI }
                bytes = Data(decoded.utf8)
            }
            guard bytes.count <= Self.maximumBytes else { throw .tooLarge }
            guard let svg = String(data: bytes, encoding: .utf8), svg.contains("<svg") else { throw .notTheDeclaredImage }
            guard !Self.isActive(svg) else { throw .activeContent }
        default:
            throw .notADataURI
        }
    }

    /// Whether SVG text could run code when opened: `<script`, `<foreignObject`, `javascript:`, or an `on…=`
    /// event handler attribute (case-insensitive).
    static func isActive(_ svg: String) -> Bool {
        let text = svg.lowercased()
        if text.contains("<script") || text.contains("<foreignobject") || text.contains("javascript:") { return true }
        let bytes = Array(text.utf8)
        var index = 0
        while index + 2 < bytes.count {
            // `on` after white space or a quote/slash, then letters, then optional spaces and `=`.
            if bytes[index] == UInt8(ascii: "o"), bytes[index + 1] == UInt8(ascii: "n"), index > 0,
               [UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "/"), UInt8(ascii: "\""),
                UInt8(ascii: "'")].contains(bytes[index - 1]) {
                var end = index + 2
                while end < bytes.count, bytes[end] >= UInt8(ascii: "a"), bytes[end] <= UInt8(ascii: "z") { end += 1 }
                while end < bytes.count, bytes[end] == UInt8(ascii: " ") { end += 1 }
                if end > index + 2, end < bytes.count, bytes[end] == UInt8(ascii: "=") { return true }
            }
            index += 1
        }
        return false
    }

    static func decode(_ payload: String) throws(Problem) -> Data {
        guard let data = Data(base64Encoded: payload) else { throw .notBase64 }
        guard data.count <= maximumBytes else { throw .tooLarge }
        return data
    }
}
