import Synchronization
import Testing
import ZeroMQ

@Suite("Throughput and ordering", .timeLimit(.minutes(1)))
struct ThroughputTests {
    @Test("10 000 messages sent in a burst all arrive, in order")
    func burstInOrder() async throws {
        let reactor = ZMQReactor(name: "test-burst")
        defer { reactor.shutdown() }
        let atRouter = Inbox()
        let (_, endpoint) = try await bindRouter(on: reactor, onMessage: atRouter.handler)
        let dealer = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        let total = 10_000
        for index in 0..<total {
            reactor.send([bytes("seq"), encode(index)], on: dealer)
        }
        #expect(await atRouter.waitFor(count: total, timeout: .seconds(20)))
        let sequence = atRouter.all.map { decode($0[2]) }
        #expect(sequence == Array(0..<total))
    }

    @Test("10 000 messages from a kernel-like publisher reach a subscriber on another reactor")
    func burstAcrossReactors() async throws {
        let kernelSide = ZMQReactor(name: "test-burst-kernel")
        let gatewaySide = ZMQReactor(name: "test-burst-gateway")
        defer {
            kernelSide.shutdown()
            gatewaySide.shutdown()
        }
        let inbox = Inbox()
        let (router, endpoint) = try await bindRouter(on: kernelSide) { _ in }
        let identity = bytes("gw")
        let dealer = try await gatewaySide.open(.dealer, endpoint: endpoint, options: .init(identity: identity),
                                                onMessage: inbox.handler)
        // Let the connection (and the identity handshake) complete before routing to it.
        gatewaySide.send([bytes("hello")], on: dealer)
        try await Task.sleep(for: .milliseconds(200))
        let total = 10_000
        for index in 0..<total {
            kernelSide.send([identity, bytes("stream"), encode(index)], on: router)
        }
        #expect(await inbox.waitFor(count: total, timeout: .seconds(20)))
        #expect(inbox.all.map { decode($0[1]) } == Array(0..<total))
    }

    @Test("2 000 strict request/reply round trips never lose a wake-up", arguments: [false, true])
    func pingPong(separateReactors: Bool) async throws {
        let gateway = ZMQReactor(name: "test-pingpong-gw")
        let kernel = separateReactors ? ZMQReactor(name: "test-pingpong-k") : gateway
        defer {
            gateway.shutdown()
            kernel.shutdown()
        }
        let echo = Mutex<ZMQSocketID?>(nil)
        let (router, endpoint) = try await bindRouter(on: kernel) { frames in
            if let id = echo.withLock({ $0 }) { kernel.send(frames, on: id) }
        }
        echo.withLock { $0 = router }
        let replies = AsyncStream<Int>.makeStream()
        let dealer = try await gateway.open(.dealer, endpoint: endpoint) { frames in
            replies.continuation.yield(decode(frames[0]))
        }
        let rounds = 2_000
        let completed = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                var iterator = replies.stream.makeAsyncIterator()
                for round in 0..<rounds {
                    gateway.send([encode(round), bytes("payload")], on: dealer)
                    guard await iterator.next() == round else { return false }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(20))
                replies.continuation.finish()
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            replies.continuation.finish()
            return first
        }
        #expect(completed)
    }

    @Test("sends from many concurrent tasks all arrive, each task's messages in order")
    func concurrentSenders() async throws {
        let reactor = ZMQReactor(name: "test-concurrent")
        defer { reactor.shutdown() }
        let atRouter = Inbox()
        let (_, endpoint) = try await bindRouter(on: reactor, onMessage: atRouter.handler)
        let dealer = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        let tasks = 16
        let perTask = 500
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for index in 0..<perTask {
                        reactor.send([encode(task), encode(index)], on: dealer)
                        if index % 50 == 0 { await Task.yield() }
                    }
                }
            }
        }
        #expect(await atRouter.waitFor(count: tasks * perTask, timeout: .seconds(20)))
        var seen = [Int: [Int]]()
        for frames in atRouter.all {
            seen[decode(frames[1]), default: []].append(decode(frames[2]))
        }
        #expect(seen.count == tasks)
        for task in 0..<tasks {
            #expect(seen[task] == Array(0..<perTask))
        }
    }

    @Test("messages wait (not dropped) while the high-water mark is reached")
    func highWaterMarkBackPressure() async throws {
        let sender = ZMQReactor(name: "test-hwm-sender")
        let receiver = ZMQReactor(name: "test-hwm-receiver")
        defer {
            sender.shutdown()
            receiver.shutdown()
        }
        let inbox = Inbox()
        let slowStart = ContinuousClock.now + .milliseconds(300)
        let (_, endpoint) = try await bindRouter(on: receiver, options: .init(receiveHighWaterMark: 10)) { frames in
            // A slow consumer at first, so the sender hits its high-water mark.
            if ContinuousClock.now < slowStart { usleepMilliseconds(20) }
            inbox.handler(frames)
        }
        let dealer = try await sender.open(.dealer, endpoint: endpoint, options: .init(sendHighWaterMark: 10),
                                           onMessage: { _ in })
        let total = 3_000
        for index in 0..<total {
            sender.send([encode(index), ZMQFrame(repeating: 7, count: 512)], on: dealer)
        }
        #expect(await inbox.waitFor(count: total, timeout: .seconds(20)))
        #expect(inbox.all.map { decode($0[1]) } == Array(0..<total))
        #expect(sender.failedSendCount == 0)
    }

    @Test("a bound DEALER with no peer yet keeps messages until one connects")
    func queuedUntilPeerConnects() async throws {
        let reactor = ZMQReactor(name: "test-no-peer")
        defer { reactor.shutdown() }
        let dealer = try await reactor.open(.dealer, endpoint: "tcp://127.0.0.1:*", bind: true, onMessage: { _ in })
        let endpoint = try await reactor.lastEndpoint(dealer)
        for index in 0..<100 {
            reactor.send([encode(index)], on: dealer)  // EAGAIN: no peer
        }
        try await Task.sleep(for: .milliseconds(50))
        let inbox = Inbox()
        _ = try await reactor.open(.router, endpoint: endpoint, onMessage: inbox.handler)
        #expect(await inbox.waitFor(count: 100))
        #expect(inbox.all.map { decode($0[1]) } == Array(0..<100))
    }
}
