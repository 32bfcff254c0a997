import KernelLauncher
import NIOCore
import NIOPosix
import Testing

@Suite(.timeLimit(.minutes(1))) struct LauncherCommClientTests {
    @Test func requestsAreTheLaunchersJSON() {
        #expect(LauncherCommClient.Request.interrupt.json == "{\"signum\": 2}")
        #expect(LauncherCommClient.Request.signal(15).json == "{\"signum\": 15}")
        #expect(LauncherCommClient.Request.shutdown.json == "{\"shutdown\": 1}")
    }

    @Test func aClosedCommPortIsRefusedAndBadAddressesFail() async throws {
        // A port that was just free and is closed again: nothing listens there.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(probe.localAddress?.port)
        try await probe.close().get()
        let client = LauncherCommClient(connectTimeout: .seconds(2), writeTimeout: .seconds(2))
        await #expect(throws: LauncherCommError.refused) { try await client.send(.interrupt, host: "127.0.0.1", port: port) }
        await #expect(throws: LauncherCommError.self) { try await client.send(.interrupt, host: "kernel.example", port: port) }
        await #expect(throws: LauncherCommError.self) { try await client.send(.interrupt, host: "127.0.0.1", port: 70_000) }
    }

    @Test func theBytesArriveAndTheConnectionCloses() async throws {
        let recorder = LogRecorder()
        // The response listener reads a connection to its end: it serves here as a plain TCP sink.
        let listener = try await LaunchResponseListener.bind(configuration: .init(host: "127.0.0.1", port: 0),
                                                             keyPair: LaunchPayloadDecoderTests.pair, logger: recorder.logger())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            try await LauncherCommClient().send(.interrupt, host: "127.0.0.1", port: listener.localPort)
            // {"signum": 2} is not base64: the sink read it completely (not "too slow", not "failed") and refused it.
            #expect(await recorder.waitFor { $0.message == "kernel launcher response dropped: undecodable" })
            group.cancelAll()
        }
    }
}
