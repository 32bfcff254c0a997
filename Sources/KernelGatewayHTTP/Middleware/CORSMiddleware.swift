import Hummingbird

/// CORS settings (EG's `--allow-origin` family). Empty values send no header.
public struct CORSConfiguration: Sendable {
    /// `Access-Control-Allow-Origin`: `*`, one origin, or several separated by commas (then the request's
    /// `Origin` is echoed when it is one of them).
    public var allowOrigin: String
    /// `Access-Control-Allow-Credentials`.
    public var allowCredentials: String
    /// `Access-Control-Allow-Headers`.
    public var allowHeaders: String
    /// `Access-Control-Allow-Methods`.
    public var allowMethods: String
    /// `Access-Control-Expose-Headers`.
    public var exposeHeaders: String
    /// `Access-Control-Max-Age`.
    public var maxAge: String

    /// Creates a configuration; all empty by default (no CORS headers).
    public init(allowOrigin: String = "", allowCredentials: String = "", allowHeaders: String = "",
                allowMethods: String = "", exposeHeaders: String = "", maxAge: String = "") {
        self.allowOrigin = allowOrigin
        self.allowCredentials = allowCredentials
        self.allowHeaders = allowHeaders
        self.allowMethods = allowMethods
        self.exposeHeaders = exposeHeaders
        self.maxAge = maxAge
    }
}

/// Adds the CORS headers to every response and answers preflight `OPTIONS` requests with 200.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let configuration: CORSConfiguration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        if request.method == .options {
            var response = Response(status: .ok)
            apply(to: &response.headers, requestOrigin: origin)
            return response
        }
        do {
            var response = try await next(request, context)
            apply(to: &response.headers, requestOrigin: origin)
            return response
        } catch var error as APIError {
            apply(to: &error.headers, requestOrigin: origin)
            throw error
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request: the configured value when it is `*` or a single
    /// origin, else the request's own origin when it is listed.
    func allowedOrigin(for requestOrigin: String?) -> String? {
        let listed = configuration.allowOrigin.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if listed.contains("*") { return "*" }
        if listed.count == 1 { return listed[0] }
        guard let requestOrigin else { return nil }
        return listed.first { $0.lowercased() == requestOrigin.lowercased() }
    }

    func apply(to headers: inout HTTPFields, requestOrigin: String?) {
        if let origin = allowedOrigin(for: requestOrigin) {
            headers[.accessControlAllowOrigin] = origin
            if origin != "*" { headers[.vary] = "Origin" }
        }
        if !configuration.allowCredentials.isEmpty { headers[.accessControlAllowCredentials] = configuration.allowCredentials }
        if !configuration.allowHeaders.isEmpty { headers[.accessControlAllowHeaders] = configuration.allowHeaders }
        if !configuration.allowMethods.isEmpty { headers[.accessControlAllowMethods] = configuration.allowMethods }
        if !configuration.exposeHeaders.isEmpty { headers[.accessControlExposeHeaders] = configuration.exposeHeaders }
        if !configuration.maxAge.isEmpty { headers[.accessControlMaxAge] = configuration.maxAge }
        headers[.xContentTypeOptions] = "nosniff"
    }
}
