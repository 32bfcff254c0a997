import KubernetesAPI
import KubernetesRuntime
import Logging
import ServiceLifecycle

/// One term of work: informers, work queues and the two controller loops, from start (or gaining the
/// lease) until shutdown (or losing it). Each term builds fresh caches.
struct ControllerTerm: Sendable {
    let client: KubernetesClient
    let configuration: ControllerConfiguration
    let metrics: ControllerMetrics
    let health: HealthState
    let recorder: EventRecorder
    let logger: Logger

    /// Runs until cancelled or gracefully shut down.
    func run() async throws {
        let factory = InformerFactory(client: client, configuration: configuration.informer, logger: logger)
        let namespace = configuration.namespace
        let gateways = factory.informer(for: JupyterResources.gateways, namespace: namespace, as: KubeObject.self)
        let notebooks = factory.informer(for: JupyterResources.notebooks, namespace: namespace, as: KubeObject.self)
        let kernelSpecs = factory.informer(for: JupyterResources.kernelSpecs, namespace: namespace, as: KubeObject.self)
        let templates = factory.informer(for: JupyterResources.kernelTemplates, namespace: namespace, as: KubeObject.self)
        let managed = ControllerLabels.managedSelector
        let deployments = factory.informer(for: .deployments, namespace: namespace, labelSelector: managed, as: KubeObject.self)
        let services = factory.informer(for: .services, namespace: namespace, labelSelector: managed, as: KubeObject.self)
        let secrets = factory.informer(for: .secrets, namespace: namespace, labelSelector: managed, as: KubeObject.self)
        let configMaps = factory.informer(for: .configMaps, namespace: namespace, labelSelector: managed, as: KubeObject.self)
        let daemonSets = factory.informer(
            for: GatewayRenderer.daemonSets, namespace: namespace, labelSelector: managed, as: KubeObject.self)
        let pods = factory.informer(
            for: .pods, namespace: namespace, labelSelector: ControllerLabels.kernelPodSelector, as: KubeObject.self)
        let stores = ControllerStores(
            gateways: gateways.store, notebooks: notebooks.store, kernelSpecs: kernelSpecs.store, kernelTemplates: templates.store,
            deployments: deployments.store, services: services.store, secrets: secrets.store, configMaps: configMaps.store,
            kernelPods: pods.store, daemonSets: daemonSets.store)

        let undecodable = UndecodableReporter(recorder: recorder, logger: logger)
        for informer in [gateways, notebooks, kernelSpecs, templates] { undecodable.watch(informer) }

        let gatewayQueue = WorkQueue<ObjectKey>(rateLimiter: configuration.rateLimiter)
        let notebookQueue = WorkQueue<ObjectKey>(rateLimiter: configuration.rateLimiter)
        Self.route(
            gateways: gateways, notebooks: notebooks, kernelSpecs: kernelSpecs, templates: templates,
            children: [deployments, services, secrets, configMaps, daemonSets], pods: pods,
            gatewayQueue: gatewayQueue, notebookQueue: notebookQueue)

        let context = ReconcileContext(
            client: client, stores: stores, settings: configuration.render, recorder: recorder, metrics: metrics,
            resyncPeriod: configuration.resyncPeriod, claimPendingGrace: configuration.claimPendingGrace)
        let informers: [any AnyInformer] = [
            gateways, notebooks, kernelSpecs, templates, deployments, services, secrets, configMaps, daemonSets, pods,
        ]
        let gatewayLoop = ControllerLoop(
            name: "jupytergateway",
            reconciler: MeteredReconciler(GatewayReconciler(context: context), name: "jupytergateway", metrics: metrics),
            queue: gatewayQueue, workers: configuration.workers, waitingFor: informers, logger: logger)
        let notebookLoop = ControllerLoop(
            name: "jupyternotebook",
            reconciler: MeteredReconciler(NotebookReconciler(context: context), name: "jupyternotebook", metrics: metrics),
            queue: notebookQueue, workers: configuration.workers, waitingFor: informers, logger: logger)

        metrics.setProvider("term") {
            [
                ("elastic_jupyter_controller_queue_depth", ["controller": "jupytergateway"], Double(gatewayQueue.count + gatewayQueue.delayedCount)),
                ("elastic_jupyter_controller_queue_depth", ["controller": "jupyternotebook"], Double(notebookQueue.count + notebookQueue.delayedCount)),
                ("elastic_jupyter_controller_objects", ["kind": "JupyterGateway"], Double(stores.gateways.count)),
                ("elastic_jupyter_controller_objects", ["kind": "JupyterNotebook"], Double(stores.notebooks.count)),
                ("elastic_jupyter_controller_objects", ["kind": "KernelPod"], Double(stores.kernelPods.count)),
            ]
        }
        defer {
            metrics.setProvider("term", nil)
            metrics.set("elastic_jupyter_controller_synced", 0)
            health.setSynced(false)
        }
        let logger = self.logger
        let metrics = self.metrics
        let health = self.health
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await factory.run() }
            group.addTask { try? await cancelWhenGracefulShutdown { await undecodable.run() } }
            group.addTask { try await gatewayLoop.run() }
            group.addTask { try await notebookLoop.run() }
            group.addTask {
                do {
                    for informer in informers { try await informer.waitForSync(timeout: nil) }
                    health.setSynced(true)
                    metrics.set("elastic_jupyter_controller_synced", 1)
                    logger.info("caches synced, reconciling")
                } catch {
                    // Stopped or cancelled before syncing: nothing to report.
                }
            }
        }
    }

    /// Turns cache changes into work-queue keys.
    static func route(
        gateways: Informer<KubeObject>, notebooks: Informer<KubeObject>, kernelSpecs: Informer<KubeObject>,
        templates: Informer<KubeObject>, children: [Informer<KubeObject>], pods: Informer<KubeObject>,
        gatewayQueue: WorkQueue<ObjectKey>, notebookQueue: WorkQueue<ObjectKey>
    ) {
        let gatewayStore = gateways.store
        let notebookStore = notebooks.store
        let kernelSpecStore = kernelSpecs.store
        let enqueueNotebooks: @Sendable (ObjectKey) -> Void = { gateway in
            for key in EventRouting.notebooks(referencing: gateway, in: notebookStore.list()) { notebookQueue.add(key) }
        }
        gateways.addHandler { event in
            gatewayQueue.add(event.key)
            enqueueNotebooks(event.key)
        }
        notebooks.addHandler { event in
            notebookQueue.add(event.key)
            // A gateway a notebook left (or a deleted notebook's gateway) drops its users entry; notebooks
            // refused for holding the same user name may take it over.
            for gateway in EventRouting.gatewaysLeft(by: event) {
                if gatewayStore.get(gateway) != nil { gatewayQueue.add(gateway) }
                enqueueNotebooks(gateway)
            }
        }
        kernelSpecs.addHandler { event in
            for key in EventRouting.gateways(forKernelSpecIn: event.object.namespace, in: gatewayStore.list()) { gatewayQueue.add(key) }
        }
        templates.addHandler { event in
            let keys = EventRouting.gateways(forTemplate: event.key, kernelSpecs: kernelSpecStore.list(), gateways: gatewayStore.list())
            for key in keys { gatewayQueue.add(key) }
        }
        for informer in children {
            informer.addHandler { event in
                guard let owner = EventRouting.owner(of: event.object) else { return }
                if owner.kind == JupyterResources.gateways.kind {
                    // Notebooks no longer copy anything of the gateway's Secrets (they have their own tokens), so a
                    // write of the users Secret does not wake every notebook of the gateway.
                    gatewayQueue.add(owner.key)
                } else {
                    notebookQueue.add(owner.key)
                }
            }
        }
        pods.addHandler { event in
            let owners = EventRouting.owners(ofKernelPod: event.object, notebooks: notebookStore.list())
            if let gateway = owners.gateway, gatewayStore.get(gateway) != nil { gatewayQueue.add(gateway) }
            for key in owners.notebooks { notebookQueue.add(key) }
        }
    }
}
