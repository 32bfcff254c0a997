extension KubeJSON {
    /// The value at a path of object keys, e.g. `json[path: "spec", "nodeName"]`.
    ///
    /// Setting creates missing intermediate objects (and turns `null` intermediates into objects);
    /// setting `nil` removes the last key.
    public subscript(path keys: String...) -> KubeJSON? {
        get { value(at: keys[...]) }
        set { setValue(newValue, at: keys[...]) }
    }

    /// The value at a path of object keys given as an array.
    public subscript(keyPath keys: [String]) -> KubeJSON? {
        get { value(at: keys[...]) }
        set { setValue(newValue, at: keys[...]) }
    }

    private func value(at keys: ArraySlice<String>) -> KubeJSON? {
        guard let first = keys.first else { return self }
        return self[first]?.value(at: keys.dropFirst())
    }

    private mutating func setValue(_ newValue: KubeJSON?, at keys: ArraySlice<String>) {
        guard let first = keys.first else {
            self = newValue ?? .null
            return
        }
        if keys.count == 1 {
            self[first] = newValue
            return
        }
        var child = self[first] ?? .emptyObject
        if child == .null { child = .emptyObject }
        child.setValue(newValue, at: keys.dropFirst())
        self[first] = child
    }
}
