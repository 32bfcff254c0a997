/// What a JupyterGateway's author may choose for the gateway pod itself: the image only as another tag (or
/// digest) of the controller's gateway image repository, since it runs under the gateway's service account;
/// and no ingress-controller snippet annotations, which some controllers execute as configuration.
extension JupyterGatewaySpec {
    /// Refused fields (by path and why); empty when the spec may be rendered.
    /// - Parameter gatewayImage: The controller's gateway image (`--gateway-image`).
    public func refusedFields(gatewayImage: String) -> [String] {
        var refused: [String] = []
        if let image = image, !image.isEmpty, !Self.isEnterpriseGatewayImage(image),
            Self.repository(of: image) != Self.repository(of: gatewayImage)
        {
            refused.append("spec.image must be a tag or digest of \(Self.repository(of: gatewayImage))")
        }
        let annotated: [(String, [String: String]?)] = [("spec.service.annotations", service?.annotations), ("spec.ingress.annotations", ingress?.annotations)]
        for (path, annotations) in annotated {
            for key in (annotations ?? [:]).keys.sorted() where key.lowercased().contains("snippet") {
                refused.append("\(path)[\(key)] (snippet annotations are not allowed)")
            }
        }
        return refused
    }

    /// The gateway image to run: `spec.image` when it is a tag or digest of the controller's gateway image,
    /// the controller's image when `spec.image` is unset or names an Enterprise Gateway image (an upstream
    /// spec's `elyra/enterprise-gateway:*`, which our gateway replaces: condition `EnterpriseGatewayImage`).
    /// - Parameter gatewayImage: The controller's gateway image (`--gateway-image`).
    public func effectiveImage(gatewayImage: String) -> String {
        guard let image, !image.isEmpty, !Self.isEnterpriseGatewayImage(image) else { return gatewayImage }
        return image
    }

    /// `spec.image` when it names an Enterprise Gateway image (kept for the condition explaining it), else `nil`.
    public var enterpriseGatewayImage: String? {
        guard let image, Self.isEnterpriseGatewayImage(image) else { return nil }
        return image
    }

    /// Whether an image reference names Enterprise Gateway (`elyra/enterprise-gateway`, on any registry).
    static func isEnterpriseGatewayImage(_ image: String) -> Bool {
        let repository = repository(of: image).lowercased()
        return repository.split(separator: "/").last == "enterprise-gateway"
    }

    /// `registry/name` of an image reference, without its tag or digest.
    static func repository(of image: String) -> String {
        var name = image
        if let at = name.firstIndex(of: "@") { name = String(name[..<at]) }
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") { name = String(name[..<colon]) }
        return name
    }
}
