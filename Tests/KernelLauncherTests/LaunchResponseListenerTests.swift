import Foundation
import KernelLauncher
import Logging
import Testing

@Suite(.timeLimit(.minutes(2))) struct LaunchResponseListenerTests {
    static let pair = LaunchPayloadDecoderTests.pair

    /// Runs a listener on a free loopback port during `body`, then stops it.
    func withListener(timeout: Duration = .seconds(1), recorder: LogRecorder,
                      _ body: @Sendable (LaunchResponseListener) async throws -> Void) async throws {
        let listener = try await LaunchResponseListener.bind(
            configuration: .init(host: "127.0.0.1", port: 0, connectionTimeout: timeout), keyPair: Self.pair, logger: recorder.logger())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            do { try await body(listener) } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    func dropped(_ recorder: LogRecorder, _ message: String, reason: String? = nil, peer: String? = nil) async -> Bool {
        await recorder.waitFor { line in
            line.message == message && (reason.map { line.metadata["reason"]?.contains($0) == true } ?? true)
                && (peer.map { line.metadata["peer"] == $0 } ?? true)
        }
    }

    @Test func hostileResponsesLeaveThePendingLaunchAndTheListenerWorking() async throws {
        let recorder = LogRecorder()
        try await withListener(recorder: recorder) { listener in
            let port = listener.localPort
            let key = Self.pair.publicKeyArgument
            let launch = try listener.launches.expect(kernelID: "kid-1", fromAddress: "127.0.0.1", deadline: .now + .seconds(60))
            let genuine = try await TestPython.payload(publicKey: key, connectionInfo: TestPython.connectionInfo(kernelID: "kid-1", port: 42_000))

            // A staller holds its connection open with a partial payload while everything else goes on.
            async let stalled = RawSender.stall(Array(genuine.prefix(40)), port: port, hold: .seconds(8))

            try await RawSender.send(Array("not base64 !!".utf8), port: port)
            #expect(await dropped(recorder, "kernel launcher response dropped: undecodable", reason: "not base64"))

            let otherKey = try LauncherKeyPair.generate().publicKeyArgument
            try await RawSender.send(try await TestPython.payload(publicKey: otherKey, connectionInfo: TestPython.connectionInfo(kernelID: "kid-1")), port: port)
            #expect(await dropped(recorder, "kernel launcher response dropped: undecodable", reason: "cannot be decrypted"))

            try await RawSender.send(try await TestPython.payload(publicKey: key, connectionInfo: TestPython.connectionInfo(kernelID: "kid-2")), port: port)
            #expect(await dropped(recorder, "kernel launcher response dropped: refused", reason: "unknown kernel id"))

            let hijack = try await TestPython.payload(publicKey: key, connectionInfo: TestPython.connectionInfo(kernelID: "kid-1", port: 43_000))
            try await RawSender.send(hijack, port: port, from: "127.0.0.3")
            #expect(await dropped(recorder, "kernel launcher response dropped: refused", reason: "another address", peer: "127.0.0.3"), "\(recorder.all.map { "\($0.message) \($0.metadata)" })")

            try await RawSender.send((0..<10_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }, port: port)
            #expect(await dropped(recorder, "kernel launcher response dropped: too large"))

            try await RawSender.send(genuine, port: port)
            let response = try await launch.response()
            #expect(response.connection.shellPort == 42_000 && response.commPort == 42_005)

            // The same bytes again (a replay), or a second launcher for the same launch: refused, the answer stays.
            try await RawSender.send(hijack, port: port)
            #expect(await dropped(recorder, "kernel launcher response dropped: refused", reason: "already answered"))
            #expect(try await launch.response() == response)

            let closedAfter = try await stalled
            #expect(closedAfter != nil && closedAfter! < .seconds(5), "the listener closes a stalled sender after its time limit")
            #expect(await dropped(recorder, "kernel launcher response dropped: sender too slow"))
        }
        #expect(!recorder.all.contains { $0.level >= .error })
    }

    @Test func aResponseBeforeThePodIPIsKnownIsAcceptedOnceItIs() async throws {
        let recorder = LogRecorder()
        try await withListener(recorder: recorder) { listener in
            let launch = try listener.launches.expect(kernelID: "kid-3", fromAddress: nil, deadline: .now + .seconds(60))
            let payload = try await TestPython.payload(publicKey: Self.pair.publicKeyArgument, connectionInfo: TestPython.connectionInfo(kernelID: "kid-3"))
            try await RawSender.send(payload, port: listener.localPort, from: "127.0.0.4")
            #expect(await recorder.waitFor { $0.message.contains("held") && $0.metadata["peer"] == "127.0.0.4" },
                    "\(recorder.all.map { "\($0.message) \($0.metadata)" })")
            launch.expectPeer("127.0.0.4")
            #expect(try await launch.response().kernelID == "kid-3")
        }
    }

    @Test func stopsServingWhenCancelled() async throws {
        let recorder = LogRecorder()
        let listener = try await LaunchResponseListener.bind(
            configuration: .init(host: "127.0.0.1", port: 0), keyPair: Self.pair, logger: recorder.logger())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            try await RawSender.send(Array("x".utf8), port: listener.localPort)
            #expect(await dropped(recorder, "kernel launcher response dropped: undecodable"))
            group.cancelAll()
            try? await group.waitForAll()
        }
        await #expect(throws: (any Error).self) { try await RawSender.send(Array("x".utf8), port: listener.localPort) }
    }

    @Test func connectionsBeyondTheLimitAreClosedAtOnceAndTheListenerRecovers() async throws {
        let recorder = LogRecorder()
        let listener = try await LaunchResponseListener.bind(
            configuration: .init(host: "127.0.0.1", port: 0, connectionTimeout: .seconds(4), maxConnections: 2), keyPair: Self.pair,
            logger: recorder.logger())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            let port = listener.localPort
            async let first = RawSender.stall(Array("ey".utf8), port: port, hold: .seconds(10))
            async let second = RawSender.stall(Array("ey".utf8), port: port, hold: .seconds(10))
            try await Task.sleep(for: .seconds(1))  // both stallers connected, even on a loaded machine
            let third = try await RawSender.stall(Array("ey".utf8), port: port, hold: .seconds(10))
            // well before the 4 s limit that closes the stallers: refused, not timed out
            #expect(third != nil && third! < .seconds(3), "a third connection is closed at once")
            #expect(await recorder.waitFor { $0.message.contains("too many at once") })
            let (a, b) = try await (first, second)
            #expect(a != nil && b != nil, "the two stallers were closed at their time limit")
            let launch = try listener.launches.expect(kernelID: "kid-9", fromAddress: "127.0.0.1", deadline: .now + .seconds(30))
            try await RawSender.send(try await TestPython.payload(publicKey: Self.pair.publicKeyArgument,
                                                                  connectionInfo: TestPython.connectionInfo(kernelID: "kid-9")), port: port)
            #expect(try await launch.response().kernelID == "kid-9")
            group.cancelAll()
        }
    }

    @Test func anImpossiblePortIsRefused() async {
        await #expect(throws: LaunchResponseListenerError.invalidPort(70_000)) {
            _ = try await LaunchResponseListener.bind(configuration: .init(host: "127.0.0.1", port: 70_000), keyPair: Self.pair,
                                                      logger: LogRecorder().logger())
        }
    }

    @Test func responsePortSetting() {
        #expect(LaunchResponseListenerConfiguration().port == 8877)
        #expect(LaunchResponseListenerConfiguration.port("9000") == 9000)
        for bad in ["0", "65536", "-1", "x", ""] { #expect(LaunchResponseListenerConfiguration.port(bad) == nil) }
    }
}
