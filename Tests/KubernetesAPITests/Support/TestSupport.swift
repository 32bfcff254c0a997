import Foundation
import KubernetesAPI
import Synchronization

/// A temporary directory removed at the end of `body`.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}

/// A client for a fake server, with fast retries.
func makeTestClient(
    _ url: String, credentials: KubernetesConfiguration.Credentials = .none,
    retry: RetryPolicy = RetryPolicy(maxAttempts: 4, initialDelay: .milliseconds(20), maxDelay: .milliseconds(100)),
    requestTimeout: Duration = .seconds(10)
) throws -> KubernetesClient {
    try KubernetesClient(
        configuration: KubernetesConfiguration(
            server: url, namespace: "test", credentials: credentials,
            timeouts: .init(connect: .seconds(2), request: requestTimeout)),
        retryPolicy: retry)
}

/// Runs `body` with a client, always shutting it down.
func withTestClient<T: Sendable>(
    _ url: String, credentials: KubernetesConfiguration.Credentials = .none,
    retry: RetryPolicy = RetryPolicy(maxAttempts: 4, initialDelay: .milliseconds(20), maxDelay: .milliseconds(100)),
    requestTimeout: Duration = .seconds(10),
    _ body: (KubernetesClient) async throws -> T
) async throws -> T {
    let client = try makeTestClient(url, credentials: credentials, retry: retry, requestTimeout: requestTimeout)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// A JSON line of a watch event.
func watchLine(_ type: String, _ object: KubeJSON) -> String {
    let event: KubeJSON = ["type": .string(type), "object": object]
    return String(decoding: try! JSONEncoder().encode(event), as: UTF8.self) + "\n"
}

/// A pod-like object as JSON.
func podJSON(_ name: String, rv: String, namespace: String = "test", labels: [String: String] = [:]) -> KubeJSON {
    var metadata: KubeJSON = ["name": .string(name), "namespace": .string(namespace), "resourceVersion": .string(rv),
                              "uid": .string("uid-\(name)")]
    if !labels.isEmpty { metadata["labels"] = KubeJSON(labels) }
    return ["apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": ["nodeName": "n1"]]
}

/// Waits until `condition` holds, polling; fails after `timeout`.
func eventually(
    timeout: Duration = .seconds(10), _ what: String = "condition", _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TimedOut(what: what)
}

/// A bounded wait ran out.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// A lock-protected value that closures can share (Mutex itself cannot be captured by escaping closures).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    var value: Value { mutex.withLock { $0 } }

    @discardableResult
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T {
        mutex.withLock { body(&$0) }
    }
}
