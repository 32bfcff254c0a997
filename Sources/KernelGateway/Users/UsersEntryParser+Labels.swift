import Yams

extension UsersEntryParser {
    /// Most labels `workspace.notebookPodLabels` may hold.
    static let maxNotebookPodLabels = 16

    /// `workspace.notebookPodLabels`: a mapping of 1 to ``maxNotebookPodLabels`` Kubernetes label keys to label
    /// values. Never empty: an empty selector would match every pod.
    static func parseNotebookPodLabels(_ node: Node, entry: String) throws(UsersFileError) -> [String: String] {
        let problem = "'workspace.notebookPodLabels' must be a mapping of 1 to \(maxNotebookPodLabels) Kubernetes labels"
        guard let mapping = node.mapping, (1...maxNotebookPodLabels).contains(mapping.count) else {
            throw .invalidEntry(entry: entry, problem: problem)
        }
        var labels: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = scalar(keyNode), LabelSyntax.isKey(key) else {
                let shown = String((scalar(keyNode) ?? "?").prefix(80))
                throw .invalidEntry(entry: entry, problem: "'workspace.notebookPodLabels' key '\(shown)' is not a Kubernetes label key")
            }
            guard let value = scalar(valueNode), LabelSyntax.isValue(value) else {
                throw .invalidEntry(entry: entry, problem: "'workspace.notebookPodLabels' value of '\(key)' is not a Kubernetes label value")
            }
            guard labels[key] == nil else {
                throw .invalidEntry(entry: entry, problem: "'workspace.notebookPodLabels' key '\(key)' appears twice")
            }
            labels[key] = value
        }
        return labels
    }
}
