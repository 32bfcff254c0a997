import NIOSSL

/// The gateway's TLS server settings: TLS 1.2 or newer, forward-secret AEAD cipher suites only, and,
/// with a client CA, mandatory client certificates.
enum GatewayTLS {
    /// Errors loading the certificate, key or CA.
    enum SetupError: Error, CustomStringConvertible {
        case missingKey
        case unreadable(what: String, reason: String)

        var description: String {
            switch self {
            case .missingKey: return "TLS setup failed: --keyfile is required with --certfile"
            case .unreadable(let what, let reason): return "TLS setup failed: cannot load the \(what) (\(reason))"
            }
        }
    }

    /// TLS 1.2 suites with ECDHE key exchange and AEAD encryption; TLS 1.3 suites are all of that kind.
    static let cipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// Builds the server configuration from the certificate, key and optional client CA files.
    static func serverConfiguration(_ settings: HTTPServerConfiguration) throws -> TLSConfiguration {
        guard let certificateFile = settings.certificateFile else { throw SetupError.missingKey }
        guard let keyFile = settings.keyFile else { throw SetupError.missingKey }
        let chain: [NIOSSLCertificateSource]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
        } catch {
            throw SetupError.unreadable(what: "certificate (--certfile)", reason: "\(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw SetupError.unreadable(what: "private key (--keyfile)", reason: "\(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.cipherSuites = cipherSuites
        if let caFile = settings.clientCAFile {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw SetupError.unreadable(what: "client CA (--client-ca)", reason: "\(error)")
            }
            tls.certificateVerification = .noHostnameVerification
        }
        return tls
    }
}
