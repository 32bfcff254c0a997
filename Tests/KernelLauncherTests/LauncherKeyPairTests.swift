import Foundation
import KernelLauncher
import Testing

@Suite struct LauncherKeyPairTests {
    @Test func generatedKeyIsPublishedAsBase64SubjectPublicKeyInfoOf2048Bits() async throws {
        let pair = try LauncherKeyPair.generate()
        let argument = pair.publicKeyArgument
        #expect(!argument.contains("\n") && !argument.contains("-----"))
        // SubjectPublicKeyInfo with the rsaEncryption OID (1.2.840.113549.1.1.1), as the launchers' importKey reads it.
        let der = try #require(Data(base64Encoded: argument))
        #expect(der.range(of: Data([0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01])) != nil)
        #expect(try await TestPython.vectors(["key-size", argument]) == "2048")
    }

    @Test func pemRoundTripKeepsTheKey() throws {
        let pair = try LauncherKeyPair.generate()
        let again = try LauncherKeyPair(pemRepresentation: pair.pemRepresentation)
        #expect(again.publicKeyArgument == pair.publicKeyArgument)
        #expect(pair.pemRepresentation.hasPrefix("-----BEGIN"))
    }

    @Test func keysMadeElsewhereInEitherPEMFormDecryptPayloads() async throws {
        for format in ["pkcs1", "pkcs8"] {
            let pem = try await TestPython.vectors(["rsa-pem", "3072", format])
            let pair = try LauncherKeyPair(pemRepresentation: pem)
            let payload = try await TestPython.payload(publicKey: pair.publicKeyArgument, connectionInfo: TestPython.connectionInfo(kernelID: format))
            #expect(try LaunchPayloadDecoder(keyPair: pair).decode(payload).kernelID == format)
        }
    }

    @Test func loadOrCreateWritesAPrivateFileOnceAndReadsItBack() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("launcher-key-\(UUID().uuidString).pem").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let created = try LauncherKeyPair.loadOrCreate(path: path)
        let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
        #expect(permissions?.intValue == 0o600)
        let loaded = try LauncherKeyPair.loadOrCreate(path: path)
        #expect(loaded.publicKeyArgument == created.publicKeyArgument)
    }

    @Test func refusesGarbageAndKeysBelow2048Bits() async throws {
        #expect(throws: LauncherKeyError.self) { try LauncherKeyPair(pemRepresentation: "not a key") }
        #expect(throws: LauncherKeyError.self) { try LauncherKeyPair(pemRepresentation: String(repeating: "A", count: 20_000)) }
        let small = try await TestPython.vectors(["rsa-pem", "1024", "pkcs1"])
        #expect(small.contains("BEGIN RSA PRIVATE KEY"))
        #expect(throws: LauncherKeyError.self) { try LauncherKeyPair(pemRepresentation: small) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("launcher-key-\(UUID().uuidString).pem").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: LauncherKeyError.self) { try LauncherKeyPair.loadOrCreate(path: path) }
    }
}
