/// Picks the provisioner of each launch by the kernelspec's provisioner kind (the one documented rule:
/// `metadata.elastic_jupyter.provisioner`, else EG's `process_proxy.class_name`).
public struct ProvisionerRouter: Provisioner {
    let provisioners: [ProvisionerKind: any Provisioner]

    /// Creates a router; kinds without a provisioner are refused at launch.
    public init(_ provisioners: [ProvisionerKind: any Provisioner]) {
        self.provisioners = provisioners
    }

    /// The kinds this gateway can launch.
    public var kinds: Set<ProvisionerKind> { Set(provisioners.keys) }

    public func launch(_ context: LaunchContext) async throws(ProvisionerError) -> any ProvisionedKernel {
        guard let provisioner = provisioners[context.spec.provisioner] else {
            throw .refused(.noSuchKernelSpec(name: context.spec.name))
        }
        return try await provisioner.launch(context)
    }

    public func release(_ context: LaunchContext) async {
        await provisioners[context.spec.provisioner]?.release(context)
    }

    public func followRunningKernels(_ handle: @escaping @Sendable (RunningKernel) async -> Void) async {
        await withDiscardingTaskGroup { group in
            for provisioner in provisioners.values {
                group.addTask { await provisioner.followRunningKernels(handle) }
            }
        }
    }

    public func runningKernels() async -> [RunningKernel] {
        var found: [RunningKernel] = []
        for provisioner in provisioners.values { found += await provisioner.runningKernels() }
        return found
    }
}
