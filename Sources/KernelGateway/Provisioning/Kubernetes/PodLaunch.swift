import ElasticJupyterContract
import Foundation
import KubernetesAPI
import Logging
import Synchronization

/// The objects one kernel launch created, so that a failed start removes exactly those and nothing else.
///
/// Names are not proof of ownership: a client may choose a `KERNEL_ID` (and user) whose pod and Secret names
/// belong to another gateway's kernel. Only a create this launch saw succeed counts, and every delete carries
/// a UID precondition, so an object that merely has the same name is never touched. A create whose answer
/// was lost (connection broken, timeout, server error) is read back: the object is this launch's own only
/// if it carries this launch's id (``KernelPodLabels/launchAnnotation``).
final class PodLaunch: Sendable {
    /// One object this launch created.
    struct Created: Sendable, Equatable {
        let resource: ResourceDescriptor
        let name: String
        let uid: String
    }

    let client: KubernetesClient
    let namespace: String
    let launchID: String
    let logger: Logger
    private let created = Mutex<[Created]>([])

    init(client: KubernetesClient, namespace: String, launchID: String, logger: Logger) {
        self.client = client
        self.namespace = namespace
        self.launchID = launchID
        self.logger = logger
    }

    /// What was created so far, oldest first.
    var objects: [Created] { created.withLock { $0 } }

    /// The UID of the created object of this kind, if any.
    func uid(of resource: ResourceDescriptor) -> String? {
        objects.last { $0.resource == resource }?.uid
    }

    /// Creates an object and remembers it as this launch's.
    func create(_ resource: ResourceDescriptor, _ object: KubeObject) async throws -> KubeObject {
        do {
            let stored = try await client.create(resource, object, namespace: namespace)
            remember(resource, stored)
            return stored
        } catch let error as KubernetesError where Self.mayHaveCreated(error) {
            // The object may exist although the answer was lost: ours only if it carries our launch id.
            if let found = try? await client.get(resource, name: object.name, namespace: namespace, as: KubeObject.self),
               found.metadata.annotations[KernelPodLabels.launchAnnotation] == launchID {
                remember(resource, found)
                return found
            }
            throw error
        }
    }

    private func remember(_ resource: ResourceDescriptor, _ object: KubeObject) {
        guard let uid = object.uid else { return }
        created.withLock { $0.append(Created(resource: resource, name: object.name, uid: uid)) }
    }

    /// Whether a failed create may still have created the object (no definite answer from the server).
    static func mayHaveCreated(_ error: KubernetesError) -> Bool {
        switch error.kind {
        case .transport, .timeout, .server, .decoding: return true
        default: return false
        }
    }

    /// Deletes what this launch created, newest first, each only if it is still the same object (UID).
    /// Runs to completion even when the caller was cancelled: a pod left behind would hold its resources.
    func undo() async {
        let objects = created.withLock { list in
            defer { list.removeAll() }
            return list
        }
        guard !objects.isEmpty else { return }
        let (client, namespace, logger) = (self.client, self.namespace, self.logger)
        await Task.detached {
            for object in objects.reversed() {
                await Self.delete(object, client: client, namespace: namespace, logger: logger)
            }
        }.value
    }

    /// Deletes one object if it still has the given UID: gone already, or replaced by another, is fine.
    static func delete(_ object: Created, client: KubernetesClient, namespace: String, logger: Logger, grace: Int = 0) async {
        let options = DeleteOptions(gracePeriodSeconds: grace, preconditions: .init(uid: object.uid))
        do {
            try await client.delete(object.resource, name: object.name, namespace: namespace, options: options)
        } catch let error as KubernetesError where error.is(.notFound) || error.is(.conflict) {
        } catch {
            logger.warning("cleanup failed", metadata: ["object": "\(object.resource.plural)/\(object.name)", "error": "\(error)"])
        }
    }
}
