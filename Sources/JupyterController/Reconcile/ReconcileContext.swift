import KubernetesAPI
import KubernetesRuntime

/// The informer caches a reconcile reads from.
public struct ControllerStores: Sendable {
    /// JupyterGateways.
    public var gateways: Store<KubeObject>
    /// JupyterNotebooks.
    public var notebooks: Store<KubeObject>
    /// JupyterKernelSpecs.
    public var kernelSpecs: Store<KubeObject>
    /// JupyterKernelTemplates.
    public var kernelTemplates: Store<KubeObject>
    /// Managed Deployments.
    public var deployments: Store<KubeObject>
    /// Managed Services.
    public var services: Store<KubeObject>
    /// Managed Secrets.
    public var secrets: Store<KubeObject>
    /// Managed ConfigMaps.
    public var configMaps: Store<KubeObject>
    /// Kernel pods.
    public var kernelPods: Store<KubeObject>
    /// Managed DaemonSets (a gateway's image pre-pulling).
    public var daemonSets: Store<KubeObject>

    /// Creates stores (from informers, or empty ones in tests).
    public init(
        gateways: Store<KubeObject> = Store(), notebooks: Store<KubeObject> = Store(), kernelSpecs: Store<KubeObject> = Store(),
        kernelTemplates: Store<KubeObject> = Store(), deployments: Store<KubeObject> = Store(), services: Store<KubeObject> = Store(),
        secrets: Store<KubeObject> = Store(), configMaps: Store<KubeObject> = Store(), kernelPods: Store<KubeObject> = Store(),
        daemonSets: Store<KubeObject> = Store()
    ) {
        self.gateways = gateways
        self.notebooks = notebooks
        self.kernelSpecs = kernelSpecs
        self.kernelTemplates = kernelTemplates
        self.deployments = deployments
        self.services = services
        self.secrets = secrets
        self.configMaps = configMaps
        self.kernelPods = kernelPods
        self.daemonSets = daemonSets
    }

    /// The store caching a child resource type, if the controller watches it.
    public func store(for resource: ResourceDescriptor) -> Store<KubeObject>? {
        switch resource {
        case .deployments: return deployments
        case .services: return services
        case .secrets: return secrets
        case .configMaps: return configMaps
        case GatewayRenderer.daemonSets: return daemonSets
        default: return nil
        }
    }
}

/// What reconcilers share: client, caches, settings, Events, metrics.
public struct ReconcileContext: Sendable {
    /// The API client.
    public var client: KubernetesClient
    /// Informer caches.
    public var stores: ControllerStores
    /// Images.
    public var settings: RenderSettings
    /// Events.
    public var recorder: EventRecorder
    /// Metrics.
    public var metrics: ControllerMetrics
    /// Period of the drift-correcting resync of a settled object.
    public var resyncPeriod: Duration
    /// How long a notebook's claim may stay Pending before its condition names the cause.
    public var claimPendingGrace: Duration

    /// Creates a context.
    public init(
        client: KubernetesClient, stores: ControllerStores, settings: RenderSettings, recorder: EventRecorder,
        metrics: ControllerMetrics, resyncPeriod: Duration = .seconds(600), claimPendingGrace: Duration = .seconds(30)
    ) {
        self.client = client
        self.stores = stores
        self.settings = settings
        self.recorder = recorder
        self.metrics = metrics
        self.resyncPeriod = resyncPeriod
        self.claimPendingGrace = claimPendingGrace
    }

    /// A child applier reading watched child types from the caches. A cached object is only trusted when
    /// present: an absent one is looked up in the API (the cache may lag behind a create).
    var applier: ChildApplier {
        let stores = self.stores
        return ChildApplier(client: client, metrics: metrics) { resource, key in
            stores.store(for: resource)?.get(key)
        }
    }

    /// Token lookups.
    var tokens: TokenSource { TokenSource(client: client) }

    /// Kernel pod helper.
    var kernelPods: KernelPods { KernelPods(client: client, metrics: metrics) }
}
