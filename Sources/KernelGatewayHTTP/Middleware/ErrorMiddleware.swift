import Hummingbird
import KernelGateway
import Logging

/// Turns every error into a JSON error response: typed errors keep their status, anything else is
/// logged and becomes a 500 with a generic message (no traceback, no path).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as GatewayError {
            if case .internalError = error {
                context.logger.error("internal error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            }
            throw APIError(error)
        } catch let error as HTTPError {
            throw APIError(error.status, error.body.map(Self.clean) ?? Self.defaultMessage(error.status), headers: error.headers)
        } catch let error as any HTTPResponseError {
            throw APIError(error.status, Self.defaultMessage(error.status))
        } catch is CancellationError {
            throw APIError(.serviceUnavailable, "Request cancelled")
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw APIError(.internalServerError, "Unknown server error")
        }
    }

    static func defaultMessage(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404: return "Not found"
        case 405: return "Method not allowed"
        case 413: return "Request body too large"
        default: return status.reasonPhrase
        }
    }

    /// Hummingbird's own messages are fine to show; keep them short and single-line.
    static func clean(_ text: String) -> String {
        String(text.split(whereSeparator: \.isNewline).first ?? "").prefix(300).description
    }
}
