extension KernelManager {
    /// Brings the scrape-time metrics up to date: the `kernels` gauge (by execution state and kernelspec) and the
    /// idle and busy seconds of GPU kernels so far. Called before each scrape.
    public func collectMetrics() {
        var counts: [GatewayMetrics.KernelGaugeKey: Int] = [:]
        let known = catalog.specs()
        for supervisor in supervisors.values {
            let kernel = supervisor.kernel
            // Kernelspec names come from the catalog (a bounded set); a kernel of one since removed counts as `other`.
            let spec = known[kernel.spec.name] != nil ? kernel.spec.name : "other"
            counts[.init(state: KernelStateLabel.label(kernel.model().executionState), kernelspec: spec), default: 0] += 1
            kernel.takeGPUSeconds(into: metrics)
        }
        metrics.setKernelCounts(counts)
    }
}
