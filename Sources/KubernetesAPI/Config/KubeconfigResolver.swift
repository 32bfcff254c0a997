import Foundation

/// Turns a parsed kubeconfig plus a context name into a ``KubernetesConfiguration``.
struct KubeconfigResolver {
    var file: KubeconfigFile
    var directory: String
    var home: String

    func resolve(context requested: String?) throws(KubernetesConfigurationError) -> KubernetesConfiguration {
        guard let contextName = requested ?? file.currentContext, !contextName.isEmpty else {
            throw .contextNotFound(requested ?? "(no current-context)")
        }
        guard let context = file.contexts?.first(where: { $0.name == contextName })?.context else {
            throw .contextNotFound(contextName)
        }
        guard let cluster = file.clusters?.first(where: { $0.name == context.cluster })?.cluster else {
            throw .clusterNotFound(context.cluster)
        }
        var user = KubeconfigFile.User()
        if let userName = context.user, !userName.isEmpty {
            guard let named = file.users?.first(where: { $0.name == userName }) else {
                throw .userNotFound(userName)
            }
            user = named.user ?? KubeconfigFile.User()
        }
        let server = try validatedServer(cluster.server)
        var tls = KubernetesConfiguration.TLS(insecureSkipVerify: cluster.insecureSkipTLSVerify ?? false)
        tls.certificateAuthorityPEM = try material(
            data: cluster.certificateAuthorityData, file: cluster.certificateAuthority,
            field: "certificate-authority-data")
        tls.clientCertificatePEM = try material(
            data: user.clientCertificateData, file: user.clientCertificate, field: "client-certificate-data")
        tls.clientKeyPEM = try material(data: user.clientKeyData, file: user.clientKey, field: "client-key-data")
        if (tls.clientCertificatePEM == nil) != (tls.clientKeyPEM == nil) {
            throw .invalidCertificate("client certificate and client key must be given together")
        }
        let namespace = context.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        return KubernetesConfiguration(
            server: server, namespace: namespace, credentials: try credentials(user), tls: tls)
    }

    private func credentials(_ user: KubeconfigFile.User) throws(KubernetesConfigurationError)
        -> KubernetesConfiguration.Credentials
    {
        if let token = user.token, !token.isEmpty { return .bearerToken(token) }
        if let tokenFile = user.tokenFile, !tokenFile.isEmpty {
            let path = absolute(tokenFile)
            _ = try FileAccess.read(path)
            return .tokenFile(path: path, refreshInterval: .seconds(60))
        }
        if let username = user.username, let password = user.password {
            return .basic(username: username, password: password)
        }
        if user.exec != nil { throw .unsupportedAuthentication("exec credential plugins") }
        if user.authProvider != nil { throw .unsupportedAuthentication("auth-provider") }
        return .none
    }

    private func material(data: String?, file: String?, field: String) throws(KubernetesConfigurationError)
        -> [UInt8]?
    {
        if let data, !data.isEmpty {
            guard let decoded = Data(base64Encoded: data, options: .ignoreUnknownCharacters) else {
                throw .invalidBase64(field: field)
            }
            return [UInt8](decoded)
        }
        if let file, !file.isEmpty {
            return try FileAccess.read(absolute(file))
        }
        return nil
    }

    private func absolute(_ path: String) -> String {
        let expanded = KubernetesConfiguration.expandTilde(path, home: home)
        if expanded.hasPrefix("/") { return expanded }
        return URL(fileURLWithPath: directory).appendingPathComponent(expanded).path
    }

    private func validatedServer(_ server: String) throws(KubernetesConfigurationError) -> String {
        guard let url = URL(string: server), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty
        else { throw .invalidServer(server) }
        return server.hasSuffix("/") ? String(server.dropLast()) : server
    }
}
