import ElasticJupyterContract
import JupyterProtocol

/// Why a `kernel.json` could not be turned into a ``KernelSpec``.
public struct KernelSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Human readable reason.
    public let message: String

    /// Creates an error with a reason.
    public init(_ message: String) { self.message = message }

    /// The reason.
    public var description: String { message }
}

extension KernelSpec {
    /// Builds a spec from a decoded `kernel.json`.
    ///
    /// `argv` (array of strings), `display_name`, `language` (strings), `env` (object of strings),
    /// `interrupt_mode` (`signal`/`message`, case-insensitive) and `metadata` (object) are type-checked;
    /// absent ones take Jupyter's defaults. A `.local` spec needs a non-empty `argv`.
    /// The provisioner comes from `metadata.elastic_jupyter.provisioner` when present, else from
    /// `metadata.process_proxy.class_name` (absent / `…LocalProcessProxy` / `…KubernetesProcessProxy`);
    /// any other class name is unsupported.
    public static func parse(
        name: String,
        resourceDirectory: String,
        json: JSONValue,
        resourceFiles: [String] = []
    ) throws(KernelSpecError) -> KernelSpec {
        guard case .object(let root) = json else { throw KernelSpecError("kernel.json is not a JSON object") }
        let argv = try stringArray(root["argv"], field: "argv") ?? []
        let displayName = try string(root["display_name"], field: "display_name") ?? ""
        let language = try string(root["language"], field: "language") ?? ""
        var interruptMode = InterruptMode.signal
        if let raw = try string(root["interrupt_mode"], field: "interrupt_mode") {
            guard let mode = InterruptMode(rawValue: raw.lowercased()) else {
                throw KernelSpecError("interrupt_mode must be \"signal\" or \"message\", got \"\(raw)\"")
            }
            interruptMode = mode
        }
        var env: [String: String] = [:]
        for (key, value) in try object(root["env"], field: "env") ?? [:] {
            guard case .string(let text) = value else { throw KernelSpecError("env[\"\(key)\"] is not a string") }
            env[key] = text
        }
        let metadata = try object(root["metadata"], field: "metadata") ?? [:]
        let provisioner = try provisionerKind(metadata: metadata)
        if provisioner == .local && argv.isEmpty {
            throw KernelSpecError("argv is missing or empty")
        }
        let config = try processProxyConfig(metadata: metadata)
        let authorized = try userList(config["authorized_users"], field: "authorized_users")
        let unauthorized = try userList(config["unauthorized_users"], field: "unauthorized_users")
        return KernelSpec(
            name: name,
            resourceDirectory: resourceDirectory,
            argv: argv,
            displayName: displayName,
            language: language,
            interruptMode: interruptMode,
            env: env,
            metadata: metadata,
            resourceFiles: resourceFiles,
            provisioner: provisioner,
            authorizedUsers: (authorized?.isEmpty ?? true) ? nil : authorized,
            unauthorizedUsers: unauthorized ?? []
        )
    }

    static func provisionerKind(metadata: [String: JSONValue]) throws(KernelSpecError) -> ProvisionerKind {
        if let ours = try object(metadata[KernelSpecMetadata.section], field: "metadata.\(KernelSpecMetadata.section)"),
           let raw = try string(ours[KernelSpecMetadata.provisioner], field: "metadata.\(KernelSpecMetadata.section).\(KernelSpecMetadata.provisioner)") {
            guard let kind = ProvisionerKind(rawValue: raw.lowercased()) else {
                throw KernelSpecError("unsupported provisioner \"\(raw)\" (expected \"local\" or \"kubernetes\")")
            }
            return kind
        }
        let proxy = try object(metadata["process_proxy"], field: "metadata.process_proxy") ?? [:]
        guard let className = try string(proxy["class_name"], field: "metadata.process_proxy.class_name"),
              !className.isEmpty else { return .local }
        if className.hasSuffix("LocalProcessProxy") { return .local }
        if className.hasSuffix("KubernetesProcessProxy") { return .kubernetes }
        throw KernelSpecError("unsupported process proxy class \"\(className)\"")
    }

    private static func processProxyConfig(metadata: [String: JSONValue]) throws(KernelSpecError) -> [String: JSONValue] {
        let proxy = try object(metadata["process_proxy"], field: "metadata.process_proxy") ?? [:]
        return try object(proxy["config"], field: "metadata.process_proxy.config") ?? [:]
    }

    /// Comma-separated string (EG's format) or array of strings; names trimmed, empties dropped.
    static func userList(_ value: JSONValue?, field: String) throws(KernelSpecError) -> Set<String>? {
        let parts: [String]
        switch value {
        case .none, .some(.null): return nil
        case .string(let text)?: parts = text.split(separator: ",").map(String.init)
        case .array?: parts = try stringArray(value, field: field) ?? []
        default: throw KernelSpecError("\(field) must be a comma-separated string")
        }
        return Set(parts.map(trimmed).filter { !$0.isEmpty })
    }

    private static func trimmed(_ text: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }

    private static func string(_ value: JSONValue?, field: String) throws(KernelSpecError) -> String? {
        switch value {
        case .none, .some(.null): return nil
        case .string(let text)?: return text
        default: throw KernelSpecError("\(field) must be a string")
        }
    }

    private static func object(_ value: JSONValue?, field: String) throws(KernelSpecError) -> [String: JSONValue]? {
        switch value {
        case .none, .some(.null): return nil
        case .object(let dict)?: return dict
        default: throw KernelSpecError("\(field) must be an object")
        }
    }

    private static func stringArray(_ value: JSONValue?, field: String) throws(KernelSpecError) -> [String]? {
        switch value {
        case .none, .some(.null): return nil
        case .array(let items)?:
            var result: [String] = []
            for item in items {
                guard case .string(let text) = item else { throw KernelSpecError("\(field) must contain only strings") }
                result.append(text)
            }
            return result
        default: throw KernelSpecError("\(field) must be an array of strings")
        }
    }
}
