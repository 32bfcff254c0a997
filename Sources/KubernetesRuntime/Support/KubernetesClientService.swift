import KubernetesAPI
import ServiceLifecycle

/// Shuts a ``KubernetesClient`` down when the service group stops.
///
/// Put it first in the `ServiceGroup`'s services: groups stop services in reverse order, so the client
/// closes after everything that uses it.
public struct KubernetesClientService: Service {
    /// The client.
    public let client: KubernetesClient

    /// Wraps a client.
    /// - Parameter client: The client to shut down at the end.
    public init(client: KubernetesClient) {
        self.client = client
    }

    /// Waits for graceful shutdown (or cancellation), then shuts the client down.
    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
