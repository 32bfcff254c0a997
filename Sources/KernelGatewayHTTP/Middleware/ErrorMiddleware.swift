import Hummingbird
import KernelGateway
import Logging

/// Turns every error into a JSON error response: typed errors keep their status, anything else is
/// logged and becomes a 500 with a generic message (no traceback, no path).
///
/// It must sit inside every middleware that can throw (auth, CORS) and outside the routes, so that a 404 of the
/// router, a 413 of the body reader and a 401 all get the same JSON body as the routes' own errors.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Runs the rest of the chain and rethrows whatever it throws as an ``APIError``.
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

    /// The message of an error that brought none: a short sentence for the statuses clients see most, else the
    /// reason phrase.
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
