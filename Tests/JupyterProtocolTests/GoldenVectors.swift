import Foundation
import Testing
import JupyterProtocol

/// Loads the vectors written by `scripts/generate-golden-vectors.py` (from jupyter_client / jupyter_server).
enum Golden {
    struct Parts: Decodable {
        let header: String
        let parent_header: String
        let metadata: String
        let content: String
        let buffers: [String]

        var messageParts: MessageParts {
            MessageParts(header: bytes(header), parentHeader: bytes(parent_header), metadata: bytes(metadata),
                         content: bytes(content), buffers: buffers.map(bytes))
        }
    }

    struct WireFile: Decodable {
        struct Case: Decodable {
            let name: String
            let key: String
            let scheme: String
            let identities: [String]
            let frames: [String]
            let signature: String
            let parts: Parts
        }
        let cases: [Case]
    }

    struct V1File: Decodable {
        struct Case: Decodable {
            let name: String
            let channel: String
            let key: String
            let scheme: String
            let parts: Parts
            let frame: String
            let kernel_frames: [String]
            let identities: [String]
            let resigned_frames: [String]
        }
        let cases: [Case]
    }

    struct LegacyFile: Decodable {
        struct ServerToClient: Decodable {
            let name: String
            let channel: String
            let key: String
            let scheme: String
            let kernel_frames: [String]
            let parts: Parts
            let canonical: Bool
            let kind: String
            let text: String?
            let frame: String?
        }
        struct ClientToServer: Decodable {
            let name: String
            let kind: String
            let text: String?
            let frame: String?
            let expected_channel: String
            let expected_parts: Parts
        }
        let server_to_client: [ServerToClient]
        let client_to_server: [ClientToServer]
    }

    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Golden"),
                               "missing golden file \(name).json")
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    static var wire: WireFile { get throws { try load("wire", as: WireFile.self) } }
    static var v1: V1File { get throws { try load("ws_v1", as: V1File.self) } }
    static var legacy: LegacyFile { get throws { try load("ws_legacy", as: LegacyFile.self) } }
}

/// Base64 to bytes (golden files only hold valid base64).
func bytes(_ base64: String) -> [UInt8] {
    [UInt8](Data(base64Encoded: base64)!)
}

/// Parses JSON bytes for semantic comparison.
func json(_ bytes: [UInt8]) throws -> JSONValue {
    try JSONValue.parse(bytes)
}
