import Foundation
import JupyterProtocol
import KernelLauncher
import Testing

@Suite struct LaunchPayloadDecoderTests {
    static let pair = try! LauncherKeyPair.generate()
    let decoder = LaunchPayloadDecoder(keyPair: Self.pair)

    @Test func decodesWhatCryptographyEncryptsLikeTheLaunchers() async throws {
        var info = TestPython.connectionInfo(kernelID: "0f6a3f1e-7c1b-4a55-9d1e-2b3c4d5e6f70", port: 41_000)
        // gateway_provisioners 0.5 may add CurveZMQ keys; unknown fields are ignored.
        info["curve_publickey"] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
        let response = try decoder.decode(try await TestPython.payload(publicKey: Self.pair.publicKeyArgument, connectionInfo: info))
        #expect(response.kernelID == "0f6a3f1e-7c1b-4a55-9d1e-2b3c4d5e6f70")
        #expect(response.connection == ConnectionInfo(shellPort: 41_000, iopubPort: 41_001, stdinPort: 41_002, controlPort: 41_003,
                                                      hbPort: 41_004, ip: "0.0.0.0", key: "4dba73d1-6a4f-4d5c-8f9e-0a1b2c3d4e5f",
                                                      kernelName: ""))
        #expect(response.commPort == 41_005 && response.pid == 12 && response.pgid == 9)
    }

    @Test func launcherFieldsAreOptional() async throws {
        var info = TestPython.connectionInfo(kernelID: "k1")
        for field in ["pid", "pgid", "comm_port"] { info[field] = nil }
        let response = try decoder.decode(try await TestPython.payload(publicKey: Self.pair.publicKeyArgument, connectionInfo: info))
        #expect(response.commPort == nil && response.pid == nil && response.pgid == nil && response.kernelID == "k1")
    }

    @Test func aPayloadForAnotherKeyIsUndecryptable() async throws {
        let other = try LauncherKeyPair.generate()
        let payload = try await TestPython.payload(publicKey: other.publicKeyArgument, connectionInfo: TestPython.connectionInfo(kernelID: "k"))
        #expect(throws: LaunchPayloadError.undecryptable) { try decoder.decode(payload) }
    }

    @Test func refusesOtherVersionsWithAClearError() async throws {
        let info = TestPython.connectionInfo(kernelID: "0f6a3f1e-7c1b-4a55-9d1e-2b3c4d5e6f70")
        let key = Self.pair.publicKeyArgument
        let two = try await TestPython.payload(publicKey: key, connectionInfo: info, extra: ["--version", "2"])
        #expect(throws: LaunchPayloadError.unsupportedVersion(2)) { try decoder.decode(two) }
        let none = try await TestPython.payload(publicKey: key, connectionInfo: info, extra: ["--no-version"])
        #expect(throws: LaunchPayloadError.unsupportedVersion(nil)) { try decoder.decode(none) }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: info), as: UTF8.self)
        let legacy = Array(try await TestPython.vectors(["legacy", "0f6a3f1e-7c1b-4a55-9d1e-2b3c4d5e6f70", json]).utf8)
        #expect(throws: LaunchPayloadError.unsupportedVersion(nil)) { try decoder.decode(legacy) }
        #expect(LaunchPayloadError.unsupportedVersion(nil).description.contains("older than Enterprise Gateway 2.0"))
    }

    @Test func refusesGarbage() throws {
        #expect(throws: LaunchPayloadError.notBase64) { try decoder.decode(Array("not base64 at all!".utf8)) }
        #expect(throws: LaunchPayloadError.notBase64) { try decoder.decode([]) }
        let base64 = { (text: String) in Array(Data(text.utf8).base64EncodedString().utf8) }
        #expect(throws: LaunchPayloadError.notJSON) { try decoder.decode(base64("{\"version\": 1}")) }
        #expect(throws: LaunchPayloadError.notJSON) { try decoder.decode(base64("{\"version\": 1, \"key\": 3, \"conn_info\": \"AA==\"}")) }
        #expect(throws: LaunchPayloadError.notJSON) { try decoder.decode(base64("{\"version\": \"1\", \"key\": \"\"")) }
        let randomKey = Data((0..<256).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let randomInfo = Data((0..<64).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let forged = base64("{\"version\": 1, \"key\": \"\(randomKey)\", \"conn_info\": \"\(randomInfo)\"}")
        #expect(throws: LaunchPayloadError.undecryptable) { try decoder.decode(forged) }
        let shortKey = base64("{\"version\": 1, \"key\": \"AAAA\", \"conn_info\": \"\(randomInfo)\"}")
        #expect(throws: LaunchPayloadError.undecryptable) { try decoder.decode(shortKey) }
    }

    @Test func refusesConnectionInfoAKernelCannotHave() async throws {
        let key = Self.pair.publicKeyArgument
        let cases: [(String, Any?)] = [
            ("shell_port", 0), ("hb_port", 70_000), ("iopub_port", "x"), ("transport", "ipc"), ("signature_scheme", "hmac-md4"),
            ("kernel_id", nil), ("kernel_id", ""), ("kernel_id", "a b"), ("kernel_id", String(repeating: "k", count: 300)),
            ("comm_port", 0), ("key", String(repeating: "k", count: 2000)), ("control_port", nil),
        ]
        for (field, value) in cases {
            var info = TestPython.connectionInfo(kernelID: "k")
            info[field] = value
            let payload = try await TestPython.payload(publicKey: key, connectionInfo: info)
            #expect(throws: LaunchPayloadError.self, "\(field) = \(String(describing: value))") { try decoder.decode(payload) }
            do { _ = try decoder.decode(payload) } catch {
                guard case .invalidConnectionInfo = error else { Issue.record("\(field): \(error)"); continue }
            }
        }
    }
}
