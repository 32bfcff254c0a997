import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

extension KubernetesClient {
    /// Sends a request with retries and the request deadline; returns a 2xx response.
    /// - Throws: ``KubernetesError`` or `CancellationError`.
    func send(_ request: APIRequest) async throws -> APIResponse {
        try await withRetries(request, verb: request.verb) { httpRequest in
            try await self.sendOnce(httpRequest)
        }
    }

    /// Sends a request with retries and returns the response once its head is in (for watches).
    /// The head must arrive within the request deadline; the body then streams without one.
    func openStream(_ request: APIRequest) async throws -> HTTPClientResponse {
        try await withRetries(request, verb: "watch") { httpRequest in
            let response = try await self.execute(httpRequest)
            guard (200..<300).contains(Int(response.status.code)) else {
                let body = try await response.body.collect(upTo: 1 << 20)
                throw KubernetesError(
                    httpCode: Int(response.status.code), body: body,
                    retryAfterHeader: response.headers.first(name: "Retry-After"))
            }
            return response
        }
    }

    // MARK: Retry loop

    private func withRetries<T: Sendable>(
        _ request: APIRequest, verb: String, _ operation: @Sendable (HTTPClientRequest) async throws -> T
    ) async throws -> T {
        var attempt = 0
        var refreshedCredentials = false
        while true {
            attempt += 1
            do {
                let httpRequest = try makeHTTPRequest(request)
                return try await operation(httpRequest)
            } catch let error as KubernetesError {
                errorObserver?(verb, error)
                if error.kind == .unauthorized, authorization.canRefresh, !refreshedCredentials {
                    // The token file may have rotated: re-read it and try once more.
                    refreshedCredentials = true
                    authorization.invalidate()
                    attempt -= 1
                    logger.debug("401 from API server, re-reading token", metadata: ["path": "\(request.path)"])
                    continue
                }
                guard request.mayRetry(error), attempt < retryPolicy.maxAttempts else { throw error }
                let delay = retryPolicy.delay(afterAttempt: attempt, retryAfter: error.retryAfter)
                logger.info(
                    "retrying Kubernetes request",
                    metadata: [
                        "method": "\(request.method.rawValue)", "path": "\(request.path)", "attempt": "\(attempt)",
                        "delay": "\(delay)", "error": "\(error)",
                    ])
                try await Task.sleep(for: delay)
            }
        }
    }

    // MARK: One attempt

    private func sendOnce(_ request: HTTPClientRequest) async throws -> APIResponse {
        let maxBytes = configuration.maxResponseBytes
        let timeout = configuration.timeouts.request
        let response: APIResponse = try await Deadline.run(within: timeout, what: "\(request.method) \(request.url)") {
            let response = try await self.execute(request)
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: maxBytes)
            } catch {
                throw self.mapTransport(error)
            }
            return APIResponse(status: Int(response.status.code), headers: response.headers, body: body)
        }
        guard (200..<300).contains(response.status) else {
            throw KubernetesError(
                httpCode: response.status, body: response.body,
                retryAfterHeader: response.headers.first(name: "Retry-After"))
        }
        logger.trace("Kubernetes request done", metadata: ["url": "\(request.url)", "status": "\(response.status)"])
        return response
    }

    /// Executes a request up to its response head.
    private func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        do {
            return try await httpClient.execute(request, timeout: TimeAmount(configuration.timeouts.request), logger: logger)
        } catch {
            throw mapTransport(error)
        }
    }

    /// Turns an HTTP-layer error into a ``KubernetesError`` (or keeps `CancellationError`).
    func mapTransport(_ error: any Error) -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        return KubernetesError(transportError: error)
    }

    private func makeHTTPRequest(_ request: APIRequest) throws -> HTTPClientRequest {
        var url = baseURL + request.path
        if !request.query.isEmpty { url += "?" + QueryEncoding.encode(request.query) }
        var httpRequest = HTTPClientRequest(url: url)
        httpRequest.method = request.method
        httpRequest.headers.add(name: "Accept", value: "application/json")
        httpRequest.headers.add(name: "User-Agent", value: "elastic-jupyter/KubernetesAPI")
        if let value = try authorization.authorization() {
            httpRequest.headers.add(name: "Authorization", value: value)
        }
        if let body = request.body {
            httpRequest.headers.add(name: "Content-Type", value: request.contentType ?? "application/json")
            httpRequest.body = .bytes(body)
        }
        return httpRequest
    }
}
