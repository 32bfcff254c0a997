/// The parts of a kubeconfig file this client understands.
struct KubeconfigFile: Decodable {
    var clusters: [NamedCluster]?
    var contexts: [NamedContext]?
    var users: [NamedUser]?
    var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case clusters, contexts, users
        case currentContext = "current-context"
    }

    struct NamedCluster: Decodable {
        var name: String
        var cluster: Cluster
    }

    struct NamedContext: Decodable {
        var name: String
        var context: Context
    }

    struct NamedUser: Decodable {
        var name: String
        var user: User?
    }

    struct Cluster: Decodable {
        var server: String
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    struct Context: Decodable {
        var cluster: String
        var user: String?
        var namespace: String?
    }

    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var username: String?
        var password: String?
        var exec: KubeJSON?
        var authProvider: KubeJSON?

        enum CodingKeys: String, CodingKey {
            case token, tokenFile, username, password, exec
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }
}
