import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

extension KubernetesError {
    /// The error for a `Status` object (an error response body, or a watch `ERROR` event).
    /// - Parameters:
    ///   - status: The status.
    ///   - httpCode: The HTTP code of the response, when there was one (the body's `code` wins).
    ///   - retryAfter: A `Retry-After` delay from the response headers.
    public init(status: KubeStatus, httpCode: Int? = nil, retryAfter: Duration? = nil) {
        let code = status.code ?? httpCode
        let fromDetails = status.details?.retryAfterSeconds.map { Duration.seconds($0) }
        self.init(
            kind: Self.kind(code: code, reason: status.reason),
            code: code,
            reason: status.reason,
            message: status.message ?? status.reason ?? "HTTP \(code.map(String.init) ?? "error")",
            status: status,
            retryAfter: retryAfter ?? fromDetails)
    }

    /// The error for a non-2xx response.
    /// - Parameters:
    ///   - httpCode: The response status code.
    ///   - body: The response body (a `Status` if the API server produced it).
    ///   - retryAfterHeader: The `Retry-After` header value.
    init(httpCode: Int, body: ByteBuffer, retryAfterHeader: String?) {
        let retryAfter = retryAfterHeader.flatMap(Self.parseRetryAfter)
        if let status = try? JSONCoding.decoder.decode(KubeStatus.self, from: body),
            status.kind == "Status" || status.reason != nil || status.message != nil
        {
            self.init(status: status, httpCode: httpCode, retryAfter: retryAfter)
            if status.code == nil { self.code = httpCode }
            return
        }
        let text = String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
        self.init(
            kind: Self.kind(code: httpCode, reason: nil),
            code: httpCode,
            message: text.isEmpty ? "HTTP \(httpCode)" : String(text.prefix(500)),
            retryAfter: retryAfter)
    }

    /// Wraps a failure of the HTTP layer (connection refused, TLS, deadline…).
    init(transportError error: any Error) {
        if let kube = error as? KubernetesError {
            self = kube
            return
        }
        if let http = error as? HTTPClientError {
            switch http {
            case .deadlineExceeded, .connectTimeout, .readTimeout, .writeTimeout, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout:
                self.init(kind: .timeout, message: "\(http)")
            default:
                self.init(kind: .transport, message: "\(http)")
            }
            return
        }
        self.init(kind: .transport, message: "\(error)")
    }

    /// Maps an HTTP code and `Status.reason` to a kind.
    static func kind(code: Int?, reason: String?) -> Kind {
        switch reason {
        case "AlreadyExists": return .alreadyExists
        case "Conflict": return .conflict
        case "Expired", "Gone": return .gone
        case "Invalid": return .invalid
        case "NotFound": return .notFound
        case "Forbidden": return .forbidden
        case "Unauthorized": return .unauthorized
        case "TooManyRequests": return .tooManyRequests
        default: break
        }
        switch code {
        case 400: return .badRequest
        case 401: return .unauthorized
        case 403: return .forbidden
        case 404: return .notFound
        case 409: return .conflict
        case 410: return .gone
        case 422: return .invalid
        case 429: return .tooManyRequests
        default: return .server
        }
    }

    /// Parses `Retry-After` (delay-seconds; HTTP dates are ignored).
    static func parseRetryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return .seconds(seconds) }
        if let seconds = Double(trimmed), seconds >= 0 { return .milliseconds(Int(seconds * 1000)) }
        return nil
    }
}
