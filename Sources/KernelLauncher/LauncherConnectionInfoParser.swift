import Foundation
import JupyterProtocol

/// Validates the decrypted connection info of a launcher: the connection-file fields plus `kernel_id`, `comm_port`,
/// `pid` and `pgid`. Everything is bounded: ports in 1–65535, transport `tcp`, a known signature scheme, a key of at
/// most 1 KiB, a kernel id of 1–255 printable ASCII characters.
enum LauncherConnectionInfoParser {
    private struct Extras: Decodable {
        var kernelID: String?
        var commPort: Int?
        var pid: Int?
        var pgid: Int?

        enum CodingKeys: String, CodingKey {
            case kernelID = "kernel_id"
            case commPort = "comm_port"
            case pid, pgid
        }
    }

    static func parse(_ plaintext: [UInt8]) throws(LaunchPayloadError) -> LauncherResponse {
        let data = Data(plaintext)
        // Plaintext that is not even a JSON object came from a wrong key (ECB padding passes by chance 1 in 256).
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else { throw .undecryptable }
        let connection: ConnectionInfo
        let extras: Extras
        do {
            connection = try JSONDecoder().decode(ConnectionInfo.self, from: data)
            extras = try JSONDecoder().decode(Extras.self, from: data)
        } catch {
            throw .invalidConnectionInfo("not a connection file with integer ports")
        }
        guard let kernelID = extras.kernelID, !kernelID.isEmpty, kernelID.utf8.count <= 255,
              kernelID.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw .invalidConnectionInfo("kernel_id missing or not 1 to 255 printable ASCII characters")
        }
        let ports = ConnectionInfo.Socket.allCases.map { connection.port(for: $0) }
        guard ports.allSatisfy(validPort) else { throw .invalidConnectionInfo("a kernel port is outside 1-65535") }
        guard connection.transport == "tcp" else { throw .invalidConnectionInfo("transport is not tcp") }
        guard connection.key.utf8.count <= 1024 else { throw .invalidConnectionInfo("key longer than 1 KiB") }
        guard (try? connection.makeSigner()) != nil else { throw .invalidConnectionInfo("unknown signature_scheme") }
        if let port = extras.commPort, !validPort(port) { throw .invalidConnectionInfo("comm_port is outside 1-65535") }
        let validID: (Int?) -> Int? = { id in id.flatMap { $0 > 0 && $0 <= Int(Int32.max) ? $0 : nil } }
        return LauncherResponse(kernelID: kernelID, connection: connection, commPort: extras.commPort,
                                pid: validID(extras.pid), pgid: validID(extras.pgid))
    }

    private static func validPort(_ port: Int) -> Bool { (1...65_535).contains(port) }
}
