import Hummingbird

/// Which browser-originated requests the gateway accepts (jupyter_server's model).
///
/// A web page the user happens to visit must never reach the gateway: browsers send `Origin` on cross-origin
/// requests and WebSocket handshakes, and let any page talk to `127.0.0.1` under a name it controls (DNS
/// rebinding). Requests without `Origin` come from programs (jupyter_server's gateway client, curl) and are
/// not affected, except by the `Host` check on loopback binds.
public struct BrowserRequestPolicy: Sendable {
    /// Origins allowed besides the gateway's own: exact `scheme://host[:port]` values, compared
    /// case-insensitively. `allowAnyOrigin` is set only when `*` is configured explicitly.
    public var allowedOrigins: Set<String>
    /// Whether every origin is allowed (`--allow-origin '*'`).
    public var allowAnyOrigin: Bool
    /// Whether the gateway listens on a loopback address only, so `Host` must name this machine.
    public var loopbackOnly: Bool
    /// Host names besides `localhost` and loopback literals accepted in `Host` on a loopback bind.
    public var localHostnames: Set<String>

    /// Creates a policy.
    /// - Parameters:
    ///   - allowOrigin: the `--allow-origin` value: empty, `*`, or comma-separated origins.
    ///   - bindAddress: the address the gateway listens on (`--ip`).
    ///   - localHostnames: extra names accepted in `Host` on a loopback bind.
    public init(allowOrigin: String = "", bindAddress: String = "127.0.0.1", localHostnames: [String] = []) {
        let entries = allowOrigin.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        allowAnyOrigin = entries.contains("*")
        allowedOrigins = Set(entries.filter { $0 != "*" }.map(Self.withoutTrailingSlash))
        loopbackOnly = Self.isLoopback(bindAddress)
        self.localHostnames = Set(localHostnames.map { $0.lowercased() })
    }

    /// Why a request is refused, or nil when it may proceed.
    enum Refusal: Equatable {
        case origin(String)
        case host(String)
        case contentType(String)
    }

    /// Checks one request head.
    /// - Parameters:
    ///   - origin: the `Origin` header, if any.
    ///   - host: the request's authority (`Host`), if any.
    ///   - isBrowser: whether the request carries `Origin` or a `Sec-Fetch-*` header.
    ///   - method: the request method.
    ///   - contentType: the `Content-Type` header, if any.
    ///   - hasBody: whether the request announces a body.
    ///   - secure: whether the connection uses TLS (the gateway's own origin's scheme).
    func check(origin: String?, host: String?, isBrowser: Bool, method: HTTPRequest.Method,
               contentType: String?, hasBody: Bool, secure: Bool) -> Refusal? {
        if let host, loopbackOnly, !isLocalHost(host) { return .host(host) }
        if let origin, !isAllowed(origin: origin, host: host, secure: secure) { return .origin(origin) }
        if isBrowser, [.post, .put, .patch, .delete].contains(method) {
            let media = contentType.map(Self.mediaType)
            if let media, Self.simpleMediaTypes.contains(media) { return .contentType(media) }
            if media == nil && hasBody { return .contentType("(none)") }
        }
        return nil
    }

    /// The media types a page may send cross-origin without a CORS preflight ("simple requests").
    static let simpleMediaTypes: Set<String> = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]

    func isAllowed(origin: String, host: String?, secure: Bool) -> Bool {
        if allowAnyOrigin { return true }
        let normalized = Self.withoutTrailingSlash(origin.lowercased())
        if allowedOrigins.contains(normalized) { return true }
        guard let host else { return false }
        let own = (secure ? "https://" : "http://") + host.lowercased()
        return normalized == own || normalized == Self.withoutDefaultPort(own)
    }

    func isLocalHost(_ authority: String) -> Bool {
        let name = Self.hostName(ofAuthority: authority)
        return name == "localhost" || Self.isLoopback(name) || localHostnames.contains(name)
    }

    /// `Host: [::1]:8888` → `::1`; `Host: Example.org:80` → `example.org`.
    static func hostName(ofAuthority authority: String) -> String {
        let lowered = authority.lowercased()
        if lowered.hasPrefix("["), let close = lowered.firstIndex(of: "]") {
            return String(lowered[lowered.index(after: lowered.startIndex)..<close])
        }
        if let colon = lowered.lastIndex(of: ":"), lowered.firstIndex(of: ":") == colon {
            return String(lowered[..<colon])
        }
        return lowered
    }

    /// `127.0.0.0/8`, `::1` and `localhost`: the addresses only this machine can reach.
    static func isLoopback(_ address: String) -> Bool {
        let value = address.lowercased()
        if value == "localhost" || value == "::1" || value == "0:0:0:0:0:0:0:1" { return true }
        let octets = value.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { return false }
        return octets[0] == "127"
    }

    static func mediaType(_ contentType: String) -> String {
        String(contentType.split(separator: ";", maxSplits: 1).first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
    }

    static func withoutTrailingSlash(_ origin: String) -> String {
        origin.hasSuffix("/") ? String(origin.dropLast()) : origin
    }

    static func withoutDefaultPort(_ origin: String) -> String {
        if origin.hasPrefix("http://"), origin.hasSuffix(":80") { return String(origin.dropLast(3)) }
        if origin.hasPrefix("https://"), origin.hasSuffix(":443") { return String(origin.dropLast(4)) }
        return origin
    }
}

/// Applies `BrowserRequestPolicy` to every request, WebSocket handshakes included (before the upgrade):
/// a foreign origin or host gets 403, a browser's form-like body 415, both as JSON errors.
struct BrowserRequestMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: BrowserRequestPolicy
    let secure: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let headers = request.headers
        let origin = headers[.origin]
        let isBrowser = origin != nil || headers.contains { $0.name.canonicalName.hasPrefix("sec-fetch-") }
        let hasBody = (headers[.contentLength].flatMap { Int($0) } ?? 0) > 0 || headers[.transferEncoding] != nil
        switch policy.check(origin: origin, host: request.head.authority, isBrowser: isBrowser, method: request.method,
                            contentType: headers[.contentType], hasBody: hasBody, secure: secure) {
        case nil:
            return try await next(request, context)
        case .origin:
            throw APIError(.forbidden, "Requests from this origin are not allowed (see --allow-origin)")
        case .host:
            throw APIError(.forbidden, "Host header not allowed for a gateway on a loopback address (see --local-hostnames)")
        case .contentType(let media):
            throw APIError(.unsupportedMediaType,
                           "A browser request must send its body as application/json, not \(Self.printable(media))")
        }
    }

    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f }.prefix(100).map(Character.init))
    }
}
