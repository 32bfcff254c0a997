import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// One request to the API server, before retries.
struct APIRequest: Sendable {
    /// Which failures may be retried.
    enum RetryMode: Sendable {
        /// GET, PUT, PATCH, DELETE: 429, 5xx and connection failures.
        case idempotent
        /// POST: only 429 and 503 (rejected before processing).
        case beforeProcessingOnly
    }

    var method: HTTPMethod
    var path: String
    var query: [(String, String)] = []
    var body: ByteBuffer?
    var contentType: String?
    var retryMode: RetryMode

    /// A GET.
    static func get(_ path: String, query: [(String, String)] = []) -> APIRequest {
        APIRequest(method: .GET, path: path, query: query, retryMode: .idempotent)
    }

    /// A request with a JSON body.
    static func withBody(
        _ method: HTTPMethod, _ path: String, body: some Encodable, contentType: String = "application/json"
    ) throws -> APIRequest {
        let data: [UInt8]
        do {
            data = Array(try JSONCoding.encoder.encode(body))
        } catch {
            throw KubernetesError.decodingFailure("cannot encode request body: \(error)")
        }
        return APIRequest(
            method: method, path: path, body: ByteBuffer(bytes: data), contentType: contentType,
            retryMode: method == .POST ? .beforeProcessingOnly : .idempotent)
    }

    /// The request's verb as metrics name it: `get`, `create`, `update`, `patch`, `delete` (watches are opened
    /// as `watch` by their caller).
    var verb: String {
        switch method {
        case .POST: return "create"
        case .PUT: return "update"
        case .PATCH: return "patch"
        case .DELETE: return "delete"
        default: return "get"
        }
    }

    /// Whether a failure may be retried for this request.
    func mayRetry(_ error: KubernetesError) -> Bool {
        switch error.kind {
        case .tooManyRequests:
            return true
        case .server:
            guard let code = error.code else { return retryMode == .idempotent }
            if code == 503 { return true }
            return code >= 500 && retryMode == .idempotent
        case .transport, .timeout:
            return retryMode == .idempotent
        default:
            return false
        }
    }
}

/// A complete (non-streamed) successful response.
struct APIResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: ByteBuffer
}
