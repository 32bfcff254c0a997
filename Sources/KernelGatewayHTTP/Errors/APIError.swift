import Foundation
import Hummingbird
import KernelGateway

/// An error as the API shows it: a status and a JSON body `{"reason": ..., "message": ...}`, where
/// `reason` is the HTTP reason phrase and `message` the human text (jupyter_server shows it to the
/// JupyterLab user as "Error from Gateway"). Never a traceback, never a server path.
public struct APIError: Error, HTTPResponseError, Sendable {
    /// HTTP status.
    public var status: HTTPResponse.Status
    /// Human-readable explanation.
    public var message: String
    /// Extra headers (e.g. `WWW-Authenticate`).
    public var headers: HTTPFields

    /// Creates an error.
    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// The response: ``status``, ``headers`` with `Content-Type: application/json`, and ``jsonBody``.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: jsonBody)))
    }

    /// The JSON body `{"message": ..., "reason": ...}`.
    var jsonBody: Data {
        let body: [String: String] = ["reason": status.reasonPhrase, "message": message]
        return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// Maps a kernel-management error to its HTTP form: the only place that knows the status codes.
    /// - unknown kernel or kernelspec (or one the caller may not see): 404;
    /// - a user not authorised for the kernelspec, or a configured limit reached: 403;
    /// - a malformed request (bad `env`, a quantity the API server would refuse): 400;
    /// - a kernel whose state forbids the operation (dead, shutting down): 409;
    /// - a kernel that could not be started (exit, pod failure, start timeout): 503;
    /// - another operation that did not complete in time: 504; a fault of the gateway: 500.
    public init(_ error: GatewayError) {
        switch error {
        case .noSuchKernel, .noSuchKernelSpec: self.init(.notFound, error.description)
        case .userNotAuthorized, .limitReached: self.init(.forbidden, error.description)
        case .invalidRequest: self.init(.badRequest, error.description)
        case .kernelUnavailable: self.init(.conflict, error.description)
        case .launchFailed: self.init(.serviceUnavailable, error.description)
        case .timeout: self.init(.gatewayTimeout, error.description)
        case .internalError: self.init(.internalServerError, error.description)
        }
    }
}
