import Foundation
import Hummingbird
import HummingbirdWebSocket
import KernelGateway
import NIOCore

/// `/api/sessions` CRUD (PROTOCOL.md §1.7), all of it working.
///
/// A session ties a notebook path to a kernel, per user: `POST` for a path the user already has a session for
/// returns that session instead of starting a second kernel. Sessions live in this replica's ``SessionStore``
/// only, and are pruned of kernels that no longer exist before every read.
struct SessionRoutes {
    /// Starts and stops the sessions' kernels.
    let manager: KernelManager
    /// The sessions, bounded by `--max-sessions`.
    let store: SessionStore
    /// `listKernels`, `maxBodySize` and the base path for `Location` headers.
    let settings: HTTPServerConfiguration

    /// A session as jupyter_server encodes it (`notebook` repeats `path` and `name` for old clients).
    struct SessionJSON: Encodable {
        struct Notebook: Encodable { var path: String; var name: String }
        var id: String
        var path: String
        var name: String
        var type: String
        var kernel: KernelJSON
        var notebook: Notebook
    }

    /// The JSON of a session, with its kernel's current model; throws when the kernel is gone.
    func json(_ record: SessionRecord) async throws -> SessionJSON {
        let kernel = try await manager.kernel(record.kernelID)
        return SessionJSON(id: record.id, path: record.path, name: record.name, type: record.type,
                           kernel: KernelJSON(kernel.model()), notebook: .init(path: record.path, name: record.name))
    }

    /// Drops the sessions whose kernel no longer exists (shut down, culled, or its pod gone).
    func prune() async {
        let live = Set(await manager.allKernels().map(\.id))
        await store.prune(liveKernels: live)
    }

    /// Adds the routes:
    /// - `GET api/sessions`: the caller's sessions (every session for an admin); 403 when listing is disabled;
    /// - `POST api/sessions` with `path` (or `notebook.path`), `type`, `name` and `kernel` (`{"id"}` of a kernel
    ///   the caller may see, or `{"name"}` of a kernelspec to start): 201; 400 for a missing field or one longer
    ///   than ``SessionStore/maxFieldBytes``; 403 when the store is full;
    /// - `GET`, `PATCH` and `DELETE api/sessions/{id}`: 404 for a session that does not exist or is someone
    ///   else's. A `PATCH` to another kernel shuts the old one down, and so does `DELETE`.
    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("api/sessions") { _, context -> Response in
            guard settings.listKernels else { throw APIError(.forbidden, "Listing sessions is disabled") }
            await prune()
            var list: [SessionJSON] = []
            for record in await store.all() where context.identity.canAccess(ownedBy: record.owner) {
                if let item = try? await json(record) { list.append(item) }
            }
            return try jsonResponse(list)
        }
        group.post("api/sessions") { request, context -> Response in
            let body = try await readJSONObject(request, limit: settings.maxBodySize)
            let notebook = try BodyField.optionalObject(body, "notebook")
            guard let path = try BodyField.optionalString(body, "path") ?? BodyField.optionalString(notebook, "path") else {
                throw APIError(.badRequest, "Missing field in JSON data: path")
            }
            let type = try BodyField.optionalString(body, "type") ?? (notebook != nil ? "notebook" : nil)
            guard let type else { throw APIError(.badRequest, "Missing field in JSON data: type") }
            let name = try BodyField.optionalString(body, "name") ?? ""
            try Self.checkLengths(path: path, name: name, type: type)
            let kernelBody = try BodyField.optionalObject(body, "kernel")
            await prune()
            let owner = context.identity.name
            if let existing = await store.session(forPath: path, owner: owner) {
                return try jsonResponse(try await json(existing), status: .created,
                                        headers: [.location: settings.basePath + "api/sessions/" + existing.id])
            }
            guard await !store.isFull else { throw Self.full(store.limit) }
            let kernelID = try await kernelFor(kernelBody, path: path, context: context)
            let record = SessionRecord(id: UUID().uuidString.lowercased(), path: path, name: name, type: type, kernelID: kernelID,
                                       owner: owner)
            guard await store.insert(record) else {
                // Filled up while the kernel started: the kernel was started for this session only.
                if BodyField.isNewKernel(kernelBody) { try? await manager.shutdown(kernelID, reason: "Session limit reached") }
                throw Self.full(store.limit)
            }
            return try jsonResponse(try await json(record), status: .created,
                                    headers: [.location: settings.basePath + "api/sessions/" + record.id])
        }
        group.get("api/sessions/{id}") { _, context -> Response in
            await prune()
            let record = try await session(try context.parameters.require("id"), context: context)
            return try jsonResponse(try await json(record))
        }
        group.patch("api/sessions/{id}") { request, context -> Response in
            let id = try context.parameters.require("id")
            await prune()
            var record = try await session(id, context: context)
            let body = try await readJSONObject(request, limit: settings.maxBodySize)
            if let path = try BodyField.optionalString(body, "path") { record.path = path }
            if let name = try BodyField.optionalString(body, "name") { record.name = name }
            if let type = try BodyField.optionalString(body, "type") { record.type = type }
            try Self.checkLengths(path: record.path, name: record.name, type: record.type)
            if let kernelBody = try BodyField.optionalObject(body, "kernel") {
                let old = record.kernelID
                record.kernelID = try await kernelFor(kernelBody, path: record.path, context: context)
                if old != record.kernelID { try? await manager.shutdown(old, reason: "Session changed kernel") }
            }
            await store.insert(record)
            return try jsonResponse(try await json(record))
        }
        group.delete("api/sessions/{id}") { _, context -> Response in
            let id = try context.parameters.require("id")
            _ = try await session(id, context: context)
            guard let record = await store.remove(id) else { throw Self.notFound }
            try? await manager.shutdown(record.kernelID, reason: "Session deleted")
            return Response(status: .noContent)
        }
    }

    /// Refuses `path`, `name` or `type` longer than `SessionStore.maxFieldBytes`.
    static func checkLengths(path: String, name: String, type: String) throws {
        for (field, value) in [("path", path), ("name", name), ("type", type)] where value.utf8.count > SessionStore.maxFieldBytes {
            throw APIError(.badRequest, "Field '\(field)' is longer than \(SessionStore.maxFieldBytes) bytes")
        }
    }

    /// The error of a start refused because the store holds `limit` sessions.
    static func full(_ limit: Int) -> APIError {
        APIError(.forbidden, "Session limit reached: the gateway keeps at most \(limit) sessions (see --max-sessions)")
    }

    /// The error of a session that does not exist or is someone else's (the same for both).
    static let notFound = APIError(.notFound, "Session not found")

    /// A session the request's user may see.
    func session(_ id: String, context: GatewayRequestContext) async throws -> SessionRecord {
        guard let record = await store.get(id), context.identity.canAccess(ownedBy: record.owner) else { throw Self.notFound }
        return record
    }

    /// The kernel a session body asks for: an existing one by id (one the user may see), or a new one by name,
    /// started under the same rules as `POST /api/kernels` (a start its client does not wait for anymore is cancelled).
    func kernelFor(_ kernel: [String: Any]?, path: String, context: GatewayRequestContext) async throws -> String {
        if let id = try BodyField.optionalString(kernel, "id") {
            return try await manager.kernel(id, visibleTo: context.identity).id
        }
        let start = StartRequest(kernelName: try BodyField.optionalString(kernel, "name"), path: path, requester: context.identity)
        let model = try await ClientDisconnect.cancelling(ifGone: context.channel) { [manager] in try await manager.start(start) }
        return model.id
    }
}
