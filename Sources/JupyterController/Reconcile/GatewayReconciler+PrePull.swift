import KubernetesAPI

extension GatewayReconciler {
    /// The gateway's pre-pull DaemonSets in the cache (by its labels and controller reference), by name.
    func prePullDaemonSets(of gateway: JupyterGateway) -> [String: KubeObject] {
        let labels = [
            ControllerLabels.component: GatewayRenderer.prePullComponent,
            ControllerLabels.gateway: GatewayNames(gateway: gateway.name).instanceLabel,
        ]
        let uid = gateway.object.uid ?? ""
        var found: [String: KubeObject] = [:]
        for daemonSet in context.stores.daemonSets.list(namespace: gateway.namespace)
        where daemonSet.metadata.controllerReference?.uid == uid && labels.allSatisfy({ daemonSet.labels[$0.key] == $0.value }) {
            found[daemonSet.name] = daemonSet
        }
        return found
    }

    /// Pre-pull DaemonSets no longer rendered (a kernelspec's profile changed or went, or `prePull` was turned
    /// off): their names come from profile hashes, so they are found by label rather than named by the rendering.
    func stalePrePullDaemonSets(_ rendering: GatewayRendering, gateway: JupyterGateway) -> [AbsentChild] {
        let wanted = Set(rendering.prePull.map(\.name))
        return prePullDaemonSets(of: gateway).keys.sorted().filter { !wanted.contains($0) }.map {
            AbsentChild(GatewayRenderer.daemonSets, namespace: gateway.namespace, name: $0)
        }
    }
}
