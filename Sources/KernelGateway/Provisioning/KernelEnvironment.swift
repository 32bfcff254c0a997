import JupyterProtocol

/// Builds a kernel's environment from the kernelspec, the client's request and the gateway's settings,
/// following EG's rules: `KERNEL_*` and allow-listed client variables pass (validated), nothing else of
/// the request does, the gateway's own environment is never handed over except the inherited names,
/// and the gateway's secrets never.
public enum KernelEnvironment {
    /// Longest accepted value of a client variable (as EG).
    public static let maxValueLength = 4096

    /// Validates and filters the client's `env`: returns the accepted variables.
    /// - Throws: `GatewayError.invalidRequest` for a value with `$`, backtick, CR, LF or NUL, or over 4096 characters,
    ///   and for a `KERNEL_USERNAME` that is not a safe user name (``isSafeUserName(_:)``).
    public static func acceptedClientVariables(
        _ requested: [String: String], configuration: KernelManagerConfiguration
    ) throws(GatewayError) -> [String: String] {
        var accepted: [String: String] = [:]
        let allowAll = configuration.clientEnvs.contains("*")
        for (name, value) in requested {
            guard name.hasPrefix("KERNEL_") || allowAll || configuration.clientEnvs.contains(name) else { continue }
            guard !configuration.secretEnvNames.contains(name) else { continue }
            guard isValidName(name) else {
                throw .invalidRequest("Environment variable name '\(sanitized(name))' is not valid")
            }
            if value.unicodeScalars.count > maxValueLength {
                throw .invalidRequest("Environment variable '\(name)' value exceeds maximum length of \(maxValueLength)")
            }
            if value.unicodeScalars.contains(where: { "$`\n\r\0".unicodeScalars.contains($0) }) {
                throw .invalidRequest("Environment variable '\(name)' value contains prohibited characters")
            }
            if name == "KERNEL_USERNAME", !isSafeUserName(value) {
                throw .invalidRequest("KERNEL_USERNAME must be 1 to 64 of A-Z, a-z, 0-9, '.', '_', '@' and '-'")
            }
            accepted[name] = value
        }
        return accepted
    }

    /// Whether a user name matches `[A-Za-z0-9._@-]{1,64}`: it goes into pod names, labels, template
    /// placeholders and log lines, so nothing that could traverse a path or forge a log line passes.
    public static func isSafeUserName(_ name: String) -> Bool {
        (1...64).contains(name.unicodeScalars.count)
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._@-".unicodeScalars.contains($0)) }
    }

    /// The full environment of a kernel process.
    public static func build(
        clientVariables: [String: String],
        spec: KernelSpec,
        kernelID: String,
        configuration: KernelManagerConfiguration,
        extra: [String: String] = [:]
    ) -> [String: String] {
        var env: [String: String] = [:]
        for name in configuration.inheritedEnvs {
            if let value = configuration.gatewayEnvironment[name] { env[name] = value }
        }
        var substitutionSource = env
        substitutionSource.merge(clientVariables) { _, new in new }
        substitutionSource["KERNEL_ID"] = kernelID
        for (name, template) in spec.env {
            env[name] = substitute(template, from: substitutionSource)
        }
        env.merge(clientVariables) { _, new in new }
        env.merge(extra) { _, new in new }
        env["KERNEL_ID"] = kernelID
        env["KERNEL_GATEWAY"] = "1"
        env["KERNEL_LANGUAGE"] = env["KERNEL_LANGUAGE"] ?? spec.language.lowercased()
        for secret in configuration.secretEnvNames { env.removeValue(forKey: secret) }
        return env
    }

    /// `${VAR}` and `$VAR` substitution as Python's `string.Template.safe_substitute`: unknown names stay as written.
    public static func substitute(_ template: String, from values: [String: String]) -> String {
        var output = ""
        var scalars = Array(template.unicodeScalars)[...]
        while let first = scalars.first {
            scalars = scalars.dropFirst()
            guard first == "$" else { output.unicodeScalars.append(first); continue }
            if scalars.first == "$" { output += "$"; scalars = scalars.dropFirst(); continue }
            if scalars.first == "{" {
                if let close = scalars.firstIndex(of: "}") {
                    let name = String(String.UnicodeScalarView(scalars[scalars.index(after: scalars.startIndex)..<close]))
                    if isValidName(name), let value = values[name] {
                        output += value
                        scalars = scalars[scalars.index(after: close)...]
                        continue
                    }
                }
                output += "$"
                continue
            }
            let nameScalars = scalars.prefix { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
            let name = String(String.UnicodeScalarView(nameScalars))
            if !name.isEmpty, isValidName(name), let value = values[name] {
                output += value
                scalars = scalars.dropFirst(nameScalars.count)
            } else {
                output += "$"
            }
        }
        return output
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    static func sanitized(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.prefix(64).map(Character.init))
    }
}
