/// Substitutes `{name}` placeholders in a kernelspec's `argv` (`{connection_file}`, `{resource_dir}`,
/// `{kernel_id}`, ...). Unknown placeholders are left as written, as jupyter_client does.
public enum ArgvTemplate {
    /// Returns `argv` with every known `{name}` replaced.
    public static func render(_ argv: [String], values: [String: String]) -> [String] {
        argv.map { render($0, values: values) }
    }

    static func render(_ argument: String, values: [String: String]) -> String {
        var output = ""
        var rest = argument[...]
        while let open = rest.firstIndex(of: "{") {
            output += rest[..<open]
            let afterOpen = rest.index(after: open)
            if let close = rest[afterOpen...].firstIndex(of: "}") {
                let name = String(rest[afterOpen..<close])
                let isName = !name.isEmpty && name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
                if isName, let value = values[name] {
                    output += value
                    rest = rest[rest.index(after: close)...]
                    continue
                }
            }
            output += "{"
            rest = rest[afterOpen...]
        }
        output += rest
        return output
    }
}
