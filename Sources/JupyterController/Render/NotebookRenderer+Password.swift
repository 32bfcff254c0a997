import Foundation
import KubernetesAPI

extension NotebookRenderer {
    /// Key (and file name) in the notebook Secret of the jupyter_server config holding the password hash.
    public static let passwordConfigKey = "jupyter_server_config.json"
    /// Volume of that config file in the notebook pod.
    static let passwordConfigVolumeName = "notebook-auth-config"
    /// Where it is mounted; `JUPYTER_CONFIG_PATH` names the directory, so any jupyter_server image reads it.
    public static let passwordConfigPath = "/etc/elastic-jupyter/notebook-auth"

    /// The password hash to configure: only with JupyterLab's auth enabled.
    var passwordHash: String? { authEnabled ? input.passwordHash : nil }

    /// jupyter_server's config with the password hash (never the password itself). Password changes at the login
    /// page are off: the custom resource stays the one place the password is set.
    func passwordConfig() -> String? {
        guard let hash = passwordHash else { return nil }
        let config: KubeJSON = ["PasswordIdentityProvider": ["hashed_password": .string(hash), "allow_password_change": false]]
        return CanonicalJSON.text(config, pretty: true)
    }

    /// The pod volume of the config file, when there is a password.
    var passwordConfigVolume: KubeJSON? {
        guard passwordHash != nil else { return nil }
        return [
            "name": .string(Self.passwordConfigVolumeName),
            "secret": ["secretName": .string(names.secret), "items": [["key": .string(Self.passwordConfigKey), "path": .string(Self.passwordConfigKey)]]],
        ]
    }

    /// Its mount in the JupyterLab container.
    var passwordConfigMount: KubeJSON? {
        guard passwordHash != nil else { return nil }
        return ["name": .string(Self.passwordConfigVolumeName), "mountPath": .string(Self.passwordConfigPath), "readOnly": true]
    }

    /// `JUPYTER_CONFIG_PATH` with our directory first, then the template's own value, if any.
    func configPathEnvironment(_ templateEnv: [KubeJSON]) -> KubeJSON? {
        guard passwordHash != nil else { return nil }
        let theirs = templateEnv.first { $0["name"]?.stringValue == "JUPYTER_CONFIG_PATH" }?["value"]?.stringValue
        let value = [Self.passwordConfigPath, theirs].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ":")
        return .env("JUPYTER_CONFIG_PATH", value)
    }

    /// The hash stored in a notebook Secret's config (to keep its salt), or `nil`.
    public static func storedPasswordHash(in secret: KubeObject?) -> String? {
        guard let encoded = secret?.data?[passwordConfigKey]?.stringValue, let text = Base64.decode(encoded),
              let config = try? JSONDecoder().decode(KubeJSON.self, from: Data(text.utf8))
        else { return nil }
        return config[path: "PasswordIdentityProvider", "hashed_password"]?.stringValue
    }
}
