import KubernetesAPI
import KubernetesRuntime
import Logging

/// Reports the custom resources the informers had to skip because they cannot be decoded: one log line and
/// one Warning Event (`Undecodable`) per object, through a bounded buffer (a flood of them drops reports,
/// never memory or the informers' progress).
struct UndecodableReporter: Sendable {
    let recorder: EventRecorder
    let logger: Logger
    private let stream: AsyncStream<UndecodableObject>
    private let continuation: AsyncStream<UndecodableObject>.Continuation

    /// - Parameters:
    ///   - recorder: Writes the Events.
    ///   - logger: Logger.
    init(recorder: EventRecorder, logger: Logger) {
        self.recorder = recorder
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: UndecodableObject.self, bufferingPolicy: .bufferingNewest(256))
    }

    /// Sends the informer's undecodable objects here.
    func watch(_ informer: Informer<KubeObject>) {
        let continuation = self.continuation
        informer.addUndecodableHandler { continuation.yield($0) }
    }

    /// Writes the reports until cancelled.
    func run() async {
        await withTaskCancellationHandler {
            for await bad in stream {
                await report(bad)
            }
        } onCancel: { [continuation] in
            continuation.finish()
        }
    }

    private func report(_ bad: UndecodableObject) async {
        guard let name = bad.metadata?.name, let namespace = bad.metadata?.namespace else {
            logger.error("skipping a \(bad.resource.kind) without a readable name", metadata: ["reason": "\(bad.reason)"])
            return
        }
        logger.error(
            "skipping a \(bad.resource.kind) that cannot be decoded; every other object is still reconciled",
            metadata: ["object": "\(namespace)/\(name)", "reason": "\(bad.reason)"])
        var object = KubeObject(apiVersion: bad.resource.apiVersion, kind: bad.resource.kind, name: name, namespace: namespace)
        object.metadata.uid = bad.metadata?.uid
        object.metadata.resourceVersion = bad.metadata?.resourceVersion
        await recorder.record(
            object, .warning, reason: "Undecodable",
            message: "The controller cannot read this object and ignores it until it changes: \(bad.reason)")
    }
}
