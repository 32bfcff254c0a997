import JupyterProtocol
import KernelLauncher
import Testing

@Suite struct PendingLaunchesTests {
    func response(_ kernelID: String, port: Int = 40_000) -> LauncherResponse {
        LauncherResponse(kernelID: kernelID, connection: ConnectionInfo(shellPort: port, iopubPort: port + 1, stdinPort: port + 2,
                                                                        controlPort: port + 3, hbPort: port + 4, key: "k"),
                         commPort: port + 5)
    }

    func soon(_ seconds: Int = 10) -> ContinuousClock.Instant { .now + .seconds(seconds) }

    @Test func acceptsOnceFromTheExpectedPeerOnly() async throws {
        let launches = PendingLaunches()
        let launch = try launches.expect(kernelID: "k1", fromAddress: "10.0.0.5", deadline: soon())
        #expect(launches.deliver(response("other"), from: "10.0.0.5") == .unknownKernel)
        #expect(launches.deliver(response("k1", port: 1), from: "10.0.0.6") == .wrongPeer)
        #expect(launches.deliver(response("k1"), from: "::ffff:10.0.0.5") == .accepted)
        #expect(launches.deliver(response("k1", port: 2), from: "10.0.0.5") == .duplicate)
        #expect(try await launch.response() == response("k1"))
        launch.withdraw()
        #expect(launches.deliver(response("k1", port: 3), from: "10.0.0.5") == .unknownKernel)
        #expect(launches.count == 0)
    }

    @Test func aWaiterGetsTheResponseDeliveredLater() async throws {
        let launches = PendingLaunches()
        let launch = try launches.expect(kernelID: "k2", fromAddress: "127.0.0.1", deadline: soon())
        async let waited = launch.response()
        try await Task.sleep(for: .milliseconds(50))
        #expect(launches.deliver(response("k2"), from: "127.0.0.1") == .accepted)
        let received = try await waited
        #expect(received == response("k2"))
    }

    @Test func timesOutAtTheDeadlineAndRefusesLateResponses() async throws {
        let launches = PendingLaunches()
        let launch = try launches.expect(kernelID: "k3", fromAddress: "127.0.0.1", deadline: .now + .milliseconds(200))
        let started = ContinuousClock.now
        await #expect(throws: LaunchWaitError.timedOut) { try await launch.response() }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(launches.deliver(response("k3"), from: "127.0.0.1") == .expired)
    }

    @Test func responsesBeforeThePeerIsKnownAreHeldThenDecided() async throws {
        let launches = PendingLaunches()
        let launch = try launches.expect(kernelID: "k4", fromAddress: nil, deadline: soon())
        #expect(launches.deliver(response("k4", port: 1), from: "10.0.0.9") == .held)
        #expect(launches.deliver(response("k4", port: 2), from: "10.0.0.7") == .held)
        #expect(launches.deliver(response("k4", port: 3), from: "10.0.0.7") == .duplicate)
        launch.expectPeer("10.0.0.7")
        #expect(try await launch.response() == response("k4", port: 2))

        let other = try launches.expect(kernelID: "k5", fromAddress: nil, deadline: .now + .milliseconds(200))
        #expect(launches.deliver(response("k5"), from: "10.0.0.9") == .held)
        other.expectPeer("10.0.0.8")
        #expect(launches.deliver(response("k5"), from: "10.0.0.9") == .wrongPeer)
        await #expect(throws: LaunchWaitError.timedOut) { try await other.response() }
    }

    @Test func heldResponsesAreBounded() throws {
        let launches = PendingLaunches()
        _ = try launches.expect(kernelID: "k6", fromAddress: nil, deadline: soon())
        for index in 0..<4 { #expect(launches.deliver(response("k6"), from: "10.0.1.\(index)") == .held) }
        #expect(launches.deliver(response("k6"), from: "10.0.1.99") == .wrongPeer)
    }

    @Test func oneLaunchPerKernelIDAndBoundedCount() throws {
        let launches = PendingLaunches(capacity: 2)
        let first = try launches.expect(kernelID: "a", fromAddress: "127.0.0.1", deadline: soon())
        #expect(throws: LaunchWaitError.alreadyPending("a")) { try launches.expect(kernelID: "a", fromAddress: "127.0.0.1", deadline: soon()) }
        _ = try launches.expect(kernelID: "b", fromAddress: "127.0.0.1", deadline: soon())
        #expect(throws: LaunchWaitError.tooManyPending(2)) { try launches.expect(kernelID: "c", fromAddress: "127.0.0.1", deadline: soon()) }
        first.withdraw()
        _ = try launches.expect(kernelID: "c", fromAddress: "127.0.0.1", deadline: soon())
        // An answered launch of the same kernel (a restart) may be replaced.
        #expect(launches.deliver(response("c"), from: "127.0.0.1") == .accepted)
        _ = try launches.expect(kernelID: "c", fromAddress: "127.0.0.1", deadline: soon())
        #expect(launches.deliver(response("c"), from: "127.0.0.1") == .accepted)
    }

    @Test func cancellationAndWithdrawalEndTheWait() async throws {
        let launches = PendingLaunches()
        let launch = try launches.expect(kernelID: "k7", fromAddress: "127.0.0.1", deadline: soon(60))
        let waiter = Task { try await launch.response() }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await #expect(throws: LaunchWaitError.cancelled) { try await waiter.value }

        let second = try launches.expect(kernelID: "k8", fromAddress: "127.0.0.1", deadline: soon(60))
        async let waited: Result<LauncherResponse, LaunchWaitError> = {
            do throws(LaunchWaitError) { return .success(try await second.response()) } catch { return .failure(error) }
        }()
        try await Task.sleep(for: .milliseconds(50))
        second.withdraw()
        let outcome = await waited
        #expect(outcome == .failure(.cancelled))
    }
}
