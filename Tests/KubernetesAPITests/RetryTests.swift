import Foundation
import Synchronization
import Testing

@testable import KubernetesAPI

@Suite("retries")
struct RetryTests {
    /// Answers with `failures` in order, then success.
    private func scripted(_ failures: [FakeResponse], then success: FakeResponse) -> FakeHTTPServer.Handler {
        let index = Mutex(0)
        return { _ in
            let i = index.withLock { value -> Int in
                defer { value += 1 }
                return value
            }
            return i < failures.count ? failures[i] : success
        }
    }

    @Test func getIsRetriedOn500() async throws {
        let handler = scripted([.status(500, reason: "InternalError"), .full(status: 503, body: "busy")],
                               then: .json(200, podJSON("p", rv: "7")))
        try await FakeHTTPServer.with(handler) { server in
            try await withTestClient(server.url) { client in
                let pod = try await client.get(.pods, name: "p", as: KubeObject.self)
                #expect(pod.resourceVersion == "7")
                #expect(server.requests.count == 3)
            }
        }
    }

    @Test func retryAfterIsHonoured() async throws {
        let handler = scripted([.status(429, reason: "TooManyRequests", headers: ["Retry-After": "1"])],
                               then: .json(200, podJSON("p", rv: "1")))
        try await FakeHTTPServer.with(handler) { server in
            try await withTestClient(server.url) { client in
                let start = ContinuousClock.now
                _ = try await client.get(.pods, name: "p", as: KubeObject.self)
                let elapsed = ContinuousClock.now - start
                #expect(elapsed >= .milliseconds(950))
                #expect(elapsed < .seconds(5))
                #expect(server.requests.count == 2)
            }
        }
    }

    @Test func createIsNotRetriedOn500ButIsOn429() async throws {
        try await FakeHTTPServer.with(scripted([.status(500, reason: "InternalError")], then: .json(201, podJSON("p", rv: "1")))) { server in
            try await withTestClient(server.url) { client in
                do {
                    _ = try await client.create(.pods, KubeObject(.pods, name: "p"))
                    Issue.record("expected a server error")
                } catch let error as KubernetesError {
                    #expect(error.kind == .server)
                    #expect(error.code == 500)
                }
                #expect(server.requests.count == 1)
            }
        }
        try await FakeHTTPServer.with(scripted([.status(429, reason: "TooManyRequests", headers: ["Retry-After": "0"])], then: .json(201, podJSON("p", rv: "1")))) { server in
            try await withTestClient(server.url) { client in
                let created = try await client.create(.pods, KubeObject(.pods, name: "p"))
                #expect(created.name == "p")
                #expect(server.requests.map(\.method) == ["POST", "POST"])
            }
        }
    }

    @Test func givesUpAfterMaxAttempts() async throws {
        try await FakeHTTPServer.with({ _ in .status(500, reason: "InternalError") }) { server in
            try await withTestClient(server.url, retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(10))) { client in
                await #expect(throws: KubernetesError.self) {
                    try await client.delete(.pods, name: "p")
                }
                #expect(server.requests.count == 3)
            }
        }
    }

    @Test func connectionRefusedIsATransportErrorAfterRetries() async throws {
        // Grab a free port, then close the server so that nothing listens there.
        let port = try await FakeHTTPServer.with({ _ in .full(status: 200, body: "") }) { $0.port }
        try await withTestClient("http://127.0.0.1:\(port)", retry: RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(10))) { client in
            do {
                _ = try await client.get(.pods, name: "p", as: KubeObject.self)
                Issue.record("expected a failure")
            } catch let error as KubernetesError {
                #expect(error.kind == .transport || error.kind == .timeout)
            }
        }
    }

    @Test func slowResponsesHitTheRequestDeadline() async throws {
        try await FakeHTTPServer.with({ _ in .stream(status: 200, chunks: [.data("{"), .hold]) }) { server in
            try await withTestClient(server.url, retry: .none, requestTimeout: .milliseconds(300)) { client in
                let start = ContinuousClock.now
                do {
                    _ = try await client.get(.pods, name: "p", as: KubeObject.self)
                    Issue.record("expected a timeout")
                } catch let error as KubernetesError {
                    #expect(error.kind == .timeout)
                }
                #expect(ContinuousClock.now - start < .seconds(3))
            }
        }
    }

    @Test func backoffGrowsAndIsCapped() {
        let policy = RetryPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(1), jitter: 0)
        #expect(policy.delay(afterAttempt: 1) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 2) == .milliseconds(200))
        #expect(policy.delay(afterAttempt: 4) == .milliseconds(800))
        #expect(policy.delay(afterAttempt: 9) == .seconds(1))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(2)) == .seconds(2))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(600)) == .seconds(60))
        let jittered = RetryPolicy(initialDelay: .seconds(1), jitter: 0.2).delay(afterAttempt: 1)
        #expect(jittered >= .milliseconds(800) && jittered <= .milliseconds(1200))
    }
}
