import KubernetesAPI
import Logging

extension Informer {
    /// The list-then-watch loop. Runs until cancelled.
    func listAndWatch() async throws {
        var needsList = true
        var failures = 0
        while true {
            try Task.checkCancellation()
            do {
                if needsList {
                    try await relist()
                    needsList = false
                }
                let started = ContinuousClock.now
                let events = try await watchOnce(from: resourceVersion ?? "")
                if events > 0 || ContinuousClock.now - started > .seconds(1) {
                    failures = 0
                } else {
                    // The server ended an empty watch at once; do not spin.
                    failures += 1
                    try await Task.sleep(for: backoff(failures))
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as KubernetesError where error.kind == .gone {
                logger.info("resourceVersion too old, re-listing", metadata: ["error": "\(error)"])
                needsList = true
                failures += 1
                if failures > 1 { try await Task.sleep(for: backoff(failures - 1)) }
            } catch let error as KubernetesError where error.kind == .decoding {
                // Watching again from the same resourceVersion would replay the same event for ever; a
                // re-list decodes item by item, skips what it cannot read and moves past it.
                logger.warning("a watch event could not be decoded, re-listing", metadata: ["attempt": "\(failures + 1)"])
                needsList = true
                failures += 1
                try await Task.sleep(for: backoff(failures))
            } catch {
                failures += 1
                let delay = backoff(failures)
                logger.warning(
                    "list/watch failed, retrying",
                    metadata: ["error": "\(error)", "attempt": "\(failures)", "delay": "\(delay)"])
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Lists everything and replaces the store, delivering the differences; opens the sync gate.
    ///
    /// Items are decoded one by one: one that cannot be decoded is reported to the undecodable handlers
    /// and skipped (its last good copy, if any, stays in the store), and everything else is listed.
    func relist() async throws {
        let list = try await listAllItemwise()
        var items = list.items
        for bad in list.undecodable {
            let key = ObjectKey(namespace: bad.metadata?.namespace, name: bad.metadata?.name ?? "")
            if let previous = store.get(key) { items.append(previous) }
            logger.warning(
                "skipping an object that cannot be decoded",
                metadata: [
                    "object": "\(bad.metadata?.namespace ?? "")/\(bad.metadata?.name ?? "?")", "reason": "\(bad.reason)",
                ])
        }
        dispatcher.withLock { dispatcher in
            for event in store.replace(with: items) { dispatcher.deliver(event) }
        }
        lastResourceVersion.withLock { $0 = list.metadata.resourceVersion }
        for handler in undecodableHandlers.withLock({ $0 }) {
            for bad in list.undecodable { handler(bad) }
        }
        logger.debug(
            "listed", metadata: ["count": "\(items.count)", "resourceVersion": "\(list.metadata.resourceVersion ?? "")"])
        synced.open()
    }

    /// Every page of the collection, decoded item by item.
    private func listAllItemwise() async throws -> ItemwiseList<Object> {
        var options = ListOptions(labelSelector: labelSelector, fieldSelector: fieldSelector, limit: configuration.pageSize)
        var all: ItemwiseList<Object>?
        while true {
            let page: ItemwiseList<Object>
            do {
                let body = try await client.listPageBody(resource, namespace: namespace, options: options)
                page = try ItemwiseList(body: body, resource: resource)
            } catch let error as KubernetesError where error.kind == .gone && options.continueToken != nil {
                // The continue token expired: start over without paging.
                options.limit = nil
                options.continueToken = nil
                all = nil
                continue
            }
            if all == nil {
                all = page
            } else {
                all?.items += page.items
                all?.undecodable += page.undecodable
                all?.metadata = page.metadata
            }
            guard let token = page.metadata.continue, !token.isEmpty else { break }
            options.continueToken = token
        }
        return all!
    }

    /// Watches from `resourceVersion` until the server ends the watch; returns the number of events.
    /// - Throws: ``KubernetesError`` (`.gone` means re-list) or `CancellationError`.
    func watchOnce(from resourceVersion: String) async throws -> Int {
        let timeout = jittered(configuration.watchTimeout)
        let seconds = max(1, Int(timeout.components.seconds))
        let options = WatchOptions(
            labelSelector: labelSelector, fieldSelector: fieldSelector, resourceVersion: resourceVersion,
            allowWatchBookmarks: true, timeoutSeconds: seconds)
        let stream = try await client.watch(resource, namespace: namespace, options: options, as: Object.self)
        let count = try await withTimeLimit(.seconds(seconds) + configuration.watchGrace) {
            var count = 0
            for try await event in stream {
                try self.apply(event)
                count += 1
            }
            return count
        }
        guard let count else {
            logger.debug("watch outlived its timeout, reopening")
            return 1
        }
        return count
    }

    /// Applies one watch event to the store and delivers the change.
    func apply(_ event: WatchEvent<Object>) throws {
        switch event {
        case .added(let object), .modified(let object):
            dispatcher.withLock { dispatcher in
                if let old = store.upsert(object) {
                    if old.metadata.resourceVersion != object.metadata.resourceVersion || object.metadata.resourceVersion == nil {
                        dispatcher.deliver(.updated(old: old, new: object))
                    }
                } else {
                    dispatcher.deliver(.added(object))
                }
            }
        case .deleted(let object):
            dispatcher.withLock { dispatcher in
                if store.remove(ObjectKey(object)) != nil {
                    dispatcher.deliver(.deleted(object))
                }
            }
        case .bookmark:
            break
        case .error(let status):
            throw KubernetesError(status: status)
        }
        if let version = event.resourceVersion, !version.isEmpty {
            lastResourceVersion.withLock { $0 = version }
        }
    }

    private func backoff(_ attempt: Int) -> Duration {
        Backoff.delay(
            attempt: attempt, initial: configuration.initialBackoff, max: configuration.maxBackoff, jitter: 0.2)
    }

    private func jittered(_ duration: Duration) -> Duration {
        duration * Double.random(in: 1.0..<1.5)
    }
}
