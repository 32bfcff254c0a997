import AsyncHTTPClient
import KubernetesAPI
import NIOCore
import NIOHTTP1

/// Reads a notebook server's `GET /api/status` through its Service, bounded in time and size: a slow, huge or
/// garbage answer is an ``IdleCheckError``, never a stalled reconcile. Redirects are not followed (the token goes to
/// the notebook's own address only).
public struct ServerStatusProbe: Sendable {
    /// Time limit of one probe (connect, head and body).
    public var timeout: Duration
    /// Largest body read.
    public var maxBytes: Int

    /// Creates a probe.
    public init(timeout: Duration = .seconds(3), maxBytes: Int = 64 * 1024) {
        self.timeout = timeout
        self.maxBytes = maxBytes
    }

    /// The activity the server at `baseURL` reports; `token` is sent as `Authorization: token …`.
    public func activity(baseURL: String, token: String?) async throws(IdleCheckError) -> ServerActivity {
        let body = try await fetch(baseURL + "/api/status", token: token)
        return try ServerActivity.parse(body)
    }

    func fetch(_ url: String, token: String?) async throws(IdleCheckError) -> [UInt8] {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(Int64(timeout.components.seconds) + 1))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let result: Result<[UInt8], IdleCheckError>
        do {
            result = .success(try await Deadline.run(within: timeout, what: url) { [maxBytes] in
                var request = HTTPClientRequest(url: url)
                if let token { request.headers.add(name: "Authorization", value: "token \(token)") }
                request.headers.add(name: "Accept", value: "application/json")
                let response = try await client.execute(request, timeout: .seconds(Int64(timeout.components.seconds) + 1))
                guard response.status == .ok else { throw IdleCheckError.httpStatus(Int(response.status.code)) }
                if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > maxBytes {
                    throw IdleCheckError.tooLarge(limit: maxBytes)
                }
                var buffer = try await response.body.collect(upTo: maxBytes)
                return buffer.readBytes(length: buffer.readableBytes) ?? []
            })
        } catch let error as IdleCheckError {
            result = .failure(error)
        } catch is NIOTooManyBytesError {
            result = .failure(.tooLarge(limit: maxBytes))
        } catch let error as KubernetesError where error.kind == .timeout {
            result = .failure(.timedOut(seconds: Int(timeout.components.seconds)))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            result = .failure(.timedOut(seconds: Int(timeout.components.seconds)))
        } catch {
            result = .failure(.unreachable("\(error)"))
        }
        try? await client.shutdown()
        return try result.get()
    }
}
