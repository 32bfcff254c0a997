import KubernetesAPI

/// How far a gateway's image pre-pulling got, per image, from its pre-pull DaemonSets' status. Pure.
public struct PrePullProgress: Sendable, Hashable {
    /// One image's progress.
    public struct Image: Sendable, Hashable {
        /// The image.
        public var image: String
        /// Nodes where it is pulled (the `numberReady` of the DaemonSets pulling it: a pod is ready only after
        /// every pull init container succeeded).
        public var pulled: Int
        /// Nodes where it should be (their `desiredNumberScheduled`).
        public var desired: Int
    }

    /// Per image, sorted by image.
    public var images: [Image]

    /// Progress of the rendered sets, read from the DaemonSets found (a missing one counts 0/0).
    /// - Parameters:
    ///   - sets: The rendered pre-pull sets.
    ///   - daemonSets: Live DaemonSets by name.
    public init(sets: [PrePullSet], daemonSets: [String: KubeObject]) {
        var totals: [String: (pulled: Int, desired: Int)] = [:]
        for set in sets {
            let status = daemonSets[set.name]?.status
            let ready = Self.count(status?["numberReady"])
            let desired = Self.count(status?["desiredNumberScheduled"])
            for image in set.images {
                let before = totals[image] ?? (0, 0)
                totals[image] = (before.pulled + ready, before.desired + desired)
            }
        }
        images = totals.keys.sorted().map { Image(image: $0, pulled: totals[$0]!.pulled, desired: totals[$0]!.desired) }
    }

    /// `status.prePull`: `progress` ("pulled/desired" over all images, for the printer column) and `images`.
    public var json: KubeJSON {
        let pulled = images.reduce(0) { $0 + $1.pulled }
        let desired = images.reduce(0) { $0 + $1.desired }
        return [
            "progress": .string("\(pulled)/\(desired)"),
            "images": .array(images.map { ["image": .string($0.image), "pulled": .int(Int64($0.pulled)), "desired": .int(Int64($0.desired))] }),
        ]
    }

    /// A status count: a non-negative integer, else 0 (a DaemonSet's status is not ours to trust blindly).
    static func count(_ value: KubeJSON?) -> Int {
        guard case .int(let number)? = value, number >= 0, number <= 1_000_000 else { return 0 }
        return Int(number)
    }
}
