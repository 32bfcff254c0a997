import Foundation
import KubernetesAPI
import Synchronization

/// An in-memory API for Lease objects with real optimistic concurrency (PUT needs the current
/// resourceVersion, else 409 Conflict).
final class FakeLeaseServer: Sendable {
    private struct State {
        var leases: [String: KubeJSON] = [:]
        var version = 100
        var holders: [String] = []
    }

    private let state = Mutex(State())

    /// Every holder identity written, in order (to check that leadership never overlapped).
    var holderHistory: [String] { state.withLock { $0.holders } }

    /// The current lease `spec.holderIdentity`.
    func holder(_ name: String) -> String? {
        state.withLock { $0.leases[name]?[path: "spec", "holderIdentity"]?.stringValue }
    }

    var handler: FakeHTTPServer.Handler {
        { request in self.handle(request) }
    }

    private func handle(_ request: FakeRequest) -> FakeResponse {
        let parts = request.path.split(separator: "/")
        guard parts.count >= 6, parts[5] == "leases" else { return .status(404, reason: "NotFound") }
        let name = parts.count > 6 ? String(parts[6]) : ""
        return state.withLock { state -> FakeResponse in
            switch request.method {
            case "GET":
                guard let lease = state.leases[name] else { return .status(404, reason: "NotFound") }
                return .json(200, lease)
            case "POST":
                guard var lease = request.json, let newName = lease[path: "metadata", "name"]?.stringValue else {
                    return .status(400, reason: "BadRequest")
                }
                if state.leases[newName] != nil { return .status(409, reason: "AlreadyExists") }
                state.version += 1
                lease[path: "metadata", "resourceVersion"] = .string(String(state.version))
                state.leases[newName] = lease
                state.holders.append(lease[path: "spec", "holderIdentity"]?.stringValue ?? "")
                return .json(201, lease)
            case "PUT":
                guard var lease = request.json, let current = state.leases[name] else {
                    return .status(404, reason: "NotFound")
                }
                guard lease[path: "metadata", "resourceVersion"] == current[path: "metadata", "resourceVersion"] else {
                    return .status(409, reason: "Conflict", message: "the object has been modified")
                }
                state.version += 1
                lease[path: "metadata", "resourceVersion"] = .string(String(state.version))
                state.leases[name] = lease
                let holder = lease[path: "spec", "holderIdentity"]?.stringValue ?? ""
                if state.holders.last != holder { state.holders.append(holder) }
                return .json(200, lease)
            default:
                return .status(405, reason: "MethodNotAllowed")
            }
        }
    }
}
