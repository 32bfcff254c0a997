import Foundation
import Synchronization
import Testing

@testable import KubernetesRuntime

@Suite("work queue")
struct WorkQueueTests {
    @Test func deduplicatesWhileQueued() async throws {
        let queue = WorkQueue<String>()
        queue.add("a")
        queue.add("b")
        queue.add("a")
        #expect(queue.count == 2)
        #expect(await queue.next() == "a")
        #expect(await queue.next() == "b")
        #expect(queue.count == 0)
        #expect(queue.processingCount == 2)
    }

    @Test func keyAddedWhileProcessingComesBackAfterDone() async throws {
        let queue = WorkQueue<String>()
        queue.add("a")
        let first = await queue.next()
        #expect(first == "a")
        queue.add("a")
        queue.add("a")
        #expect(queue.count == 0, "must not be handed out while processing")
        queue.done("a")
        #expect(queue.count == 1)
        #expect(await queue.next() == "a")
        queue.done("a")
        #expect(queue.count == 0)
    }

    @Test func neverProcessesOneKeyConcurrently() async throws {
        let queue = WorkQueue<Int>()
        let active = Locked<[Int: Int]>([:])
        let maxConcurrent = Locked(0)
        let processed = Locked(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    while let key = await queue.next() {
                        let now = active.withLock { a -> Int in
                            a[key, default: 0] += 1
                            return a[key]!
                        }
                        maxConcurrent.withLock { $0 = max($0, now) }
                        try? await Task.sleep(for: .milliseconds(2))
                        active.withLock { $0[key, default: 0] -= 1 }
                        processed.withLock { $0 += 1 }
                        queue.done(key)
                    }
                }
            }
            for round in 0..<50 {
                for key in 0..<3 { queue.add(key) }
                if round % 5 == 0 { try await Task.sleep(for: .milliseconds(3)) }
            }
            try await eventually("queue drained") { queue.count == 0 && queue.processingCount == 0 }
            queue.shutDown()
        }
        #expect(maxConcurrent.value == 1)
        #expect(processed.value >= 3)
        #expect(processed.value < 150, "dedup must collapse repeated adds")
    }

    @Test func rateLimitedBackoffGrowsPerKeyAndForgetResets() async throws {
        let queue = WorkQueue<String>(rateLimiter: RateLimiter(baseDelay: .milliseconds(40), maxDelay: .seconds(1)))
        var delays: [Duration] = []
        for _ in 0..<3 {
            let start = ContinuousClock.now
            queue.addRateLimited("k")
            let key = await queue.next()
            delays.append(ContinuousClock.now - start)
            #expect(key == "k")
            queue.done("k")
        }
        #expect(queue.failures(for: "k") == 3)
        #expect(delays[0] >= .milliseconds(35))
        #expect(delays[1] >= .milliseconds(75))
        #expect(delays[2] >= .milliseconds(155))
        #expect(delays[2] < .seconds(2))
        queue.forget("k")
        #expect(queue.failures(for: "k") == 0)
        #expect(queue.rateLimiter.delay(failures: 10) == .seconds(1))
    }

    @Test func delayedAddKeepsTheEarliestAndImmediateAddWins() async throws {
        let queue = WorkQueue<String>()
        let start = ContinuousClock.now
        queue.add("late", after: .seconds(30))
        queue.add("late", after: .milliseconds(50))
        #expect(queue.delayedCount == 1)
        #expect(await queue.next() == "late")
        #expect(ContinuousClock.now - start >= .milliseconds(45))
        #expect(ContinuousClock.now - start < .seconds(5))
        queue.done("late")

        // A waiting worker wakes up for an immediate add even while something is scheduled far away.
        queue.add("far", after: .seconds(30))
        let got = try await withTimeLimitForTest(.seconds(5)) {
            await withTaskGroup(of: String?.self) { group in
                group.addTask { await queue.next() }
                try? await Task.sleep(for: .milliseconds(50))
                queue.add("now")
                return await group.next() ?? nil
            }
        }
        #expect(got == "now")
    }

    @Test func shutDownReleasesWaitingWorkers() async throws {
        let queue = WorkQueue<String>()
        let results = try await withTimeLimitForTest(.seconds(5)) {
            await withTaskGroup(of: String?.self, returning: [String?].self) { group in
                for _ in 0..<3 { group.addTask { await queue.next() } }
                try? await Task.sleep(for: .milliseconds(50))
                queue.shutDown()
                var results: [String?] = []
                for await result in group { results.append(result) }
                return results
            }
        }
        #expect(results == [nil, nil, nil])
        queue.add("x")
        #expect(queue.count == 0)
        #expect(await queue.next() == nil)
    }

    @Test func cancellingAWaitingWorkerReturnsNil() async throws {
        let queue = WorkQueue<String>()
        let result = try await withTimeLimitForTest(.seconds(5)) {
            await withTaskGroup(of: String?.self) { group in
                group.addTask { await queue.next() }
                try? await Task.sleep(for: .milliseconds(50))
                group.cancelAll()
                return await group.next() ?? "missing"
            }
        }
        #expect(result == nil)
        queue.add("still-works")
        #expect(await queue.next() == "still-works")
    }
}

/// Fails the test instead of hanging when `body` takes longer than `limit`.
func withTimeLimitForTest<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimedOut(what: "bounded operation") }
        return value
    }
}
