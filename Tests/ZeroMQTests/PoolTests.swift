import Testing
import ZeroMQ

@Suite("Reactor pool", .timeLimit(.minutes(1)))
struct PoolTests {
    @Test("round robin spreads sockets and shutdown closes them all")
    func roundRobin() async throws {
        let pool = ZMQReactorPool(name: "test-pool", count: 3)
        defer { pool.shutdown() }
        let picks = (0..<6).map { _ in pool.next() }
        #expect(picks[0] === picks[3])
        #expect(picks[0] !== picks[1])
        #expect(Set(picks.map(\.name)) == ["test-pool-0", "test-pool-1", "test-pool-2"])
        for reactor in pool.reactors {
            _ = try await bindRouter(on: reactor) { _ in }
        }
        _ = try await bindRouter(on: pool.reactors[0]) { _ in }
        #expect(pool.socketCount == 4)
        #expect(pool.leastLoaded() !== pool.reactors[0])
        pool.shutdown()
        #expect(pool.socketCount == 0)
    }
}
