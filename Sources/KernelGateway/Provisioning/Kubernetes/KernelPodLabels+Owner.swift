import ElasticJupyterContract

extension KernelPodLabels {
    /// The owner a pod records: its user annotation, when the hash label agrees with it (or, on pods from before the
    /// label, is absent). A disagreeing pair names no owner (only admins then see the kernel).
    static func owner(annotations: [String: String], labels: [String: String]) -> String? {
        guard let user = annotations[userAnnotation] else { return nil }
        if let hash = labels[userHashLabel], hash != userHash(user) { return nil }
        return user
    }
}
