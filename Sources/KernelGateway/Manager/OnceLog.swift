/// Remembers what was logged already, up to a bound (then everything is new again): one line per distinct claim.
struct OnceLog {
    private var seen: Set<String> = []
    private let limit: Int

    init(limit: Int = 1000) { self.limit = limit }

    /// True the first time `key` is seen.
    mutating func insert(_ key: String) -> Bool {
        if seen.count >= limit { seen.removeAll() }
        return seen.insert(key).inserted
    }
}
