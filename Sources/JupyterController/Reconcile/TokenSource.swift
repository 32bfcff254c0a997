import KubernetesAPI

/// Reads tokens from Secrets and generates new ones. A token already stored is always kept: reading goes to
/// the API (not a cache), so a reconcile never replaces a token it has not seen yet.
public struct TokenSource: Sendable {
    let client: KubernetesClient

    /// Creates a token source.
    public init(client: KubernetesClient) { self.client = client }

    /// The token in `key` of a Secret, or `nil` when the Secret or key is missing or empty.
    public func read(namespace: String, secret: String, key: String) async throws -> String? {
        let object: KubeObject
        do {
            object = try await client.get(.secrets, name: secret, namespace: namespace, as: KubeObject.self)
        } catch KubernetesError.notFound {
            return nil
        }
        if let encoded = object.data?[key]?.stringValue, let token = Base64.decode(encoded), !token.isEmpty { return token }
        if let plain = object["stringData"]?[key]?.stringValue, !plain.isEmpty { return plain }
        return nil
    }

    /// The token in `key` of a Secret, or a new random one when there is none yet.
    public func readOrGenerate(namespace: String, secret: String, key: String) async throws -> String {
        try await read(namespace: namespace, secret: secret, key: key) ?? Self.generate()
    }

    /// 32 random bytes (system CSPRNG) as 64 hex digits.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let digits = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }
}
