/// Which image a kernel pod runs: the kernelspec's, unless the client's `KERNEL_IMAGE` is allowed.
///
/// A client image is pulled with the node's registry credentials and runs whatever it contains, so by
/// default a client may name only the kernelspec's own image. An administrator widens this per kernelspec
/// (`elastic_jupyter.allowed_images`) or per gateway (`--allowed-images`), with patterns in which `*` matches
/// any run of characters and `?` one character, e.g. `registry.example/team/*`.
struct KernelImagePolicy: Sendable {
    /// The gateway's patterns.
    let gatewayPatterns: [String]

    /// The image of a kernel.
    /// - Parameters:
    ///   - requested: The client's `KERNEL_IMAGE`, if any.
    ///   - kernelspecImage: The kernelspec's own image (or the gateway default).
    ///   - kernelspecPatterns: The kernelspec's `allowed_images`.
    /// - Throws: `invalidRequest` (400) for a malformed or not-allowed image.
    func choose(requested: String?, kernelspecImage: String?, kernelspecPatterns: [String]) throws(GatewayError) -> String? {
        guard let requested, !requested.isEmpty, requested != kernelspecImage else { return kernelspecImage }
        guard requested.count <= 512, requested.allSatisfy(Self.isImageCharacter) else {
            throw .invalidRequest("KERNEL_IMAGE is not a valid image reference")
        }
        guard (kernelspecPatterns + gatewayPatterns).contains(where: { Self.matches(requested, pattern: $0) }) else {
            throw .invalidRequest("KERNEL_IMAGE '\(requested)' is not allowed for this kernelspec (see --allowed-images)")
        }
        return requested
    }

    /// Characters of an image reference (`registry:port/path/name:tag@sha256:digest`).
    static func isImageCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "./:@_-".contains(character))
    }

    /// Glob match: `*` any run (also across `/`), `?` exactly one character, everything else literal.
    static func matches(_ text: String, pattern: String) -> Bool {
        let text = Array(text), pattern = Array(pattern)
        var (t, p) = (0, 0)
        var star: (p: Int, t: Int)?
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                t += 1
                p += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = (p, t)
                p += 1
            } else if let last = star {
                p = last.p + 1
                t = last.t + 1
                star = (last.p, last.t + 1)
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
