import CZeroMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ReactorLoop {
    /// Executes a batch of commands in the order they were posted.
    func runCommands(_ batch: [ReactorCommand]) {
        for command in batch {
            switch command {
            case .open(let request):
                open(request)
            case .send(let id, let frames):
                guard running, let entry = sockets[id] else { continue }
                send(frames, on: entry)
            case .close(let id):
                closeSocket(id)
            case .lastEndpoint(let id, let reply):
                guard running, let handle = sockets[id]?.handle else {
                    reply.resume(throwing: ZMQError(code: ENOTSOCK, operation: "lastEndpoint(\(id))"))
                    continue
                }
                reply.resume(with: Result { () throws(ZMQError) in try SocketSetup.lastEndpoint(handle) })
            case .isWritable(let id, let reply):
                let events = running ? sockets[id]?.readEvents() : nil
                reply.resume(returning: (events ?? 0) & ZMQ_POLLOUT != 0)
            case .shutdown:
                running = false
                closeAllSockets()
            }
        }
    }

    private func open(_ request: OpenRequest) {
        guard running else {
            request.reply(.failure(ZMQError.terminated("open(\(request.endpoint))")))
            return
        }
        do {
            let handle = try SocketSetup.makeSocket(
                context: context, type: request.type, endpoint: request.endpoint,
                bind: request.bind, options: request.options)
            let notifyFD: Int32
            do throws(ZMQError) {
                notifyFD = try SocketSetup.notificationDescriptor(handle)
            } catch {
                zmq_close(handle)
                throw error
            }
            let entry = SocketEntry(
                id: request.id, type: request.type, handle: handle, notifyFD: notifyFD,
                onMessage: request.onMessage)
            sockets[request.id] = entry
            if let onDropped = request.onDropped, !request.bind {
                entry.onDropped = onDropped
                watchConnection(of: entry)
            }
            pollSetDirty = true
            markForAttention(entry)
            mailbox.socketCount.add(1, ordering: .relaxed)
            request.reply(.success(()))
        } catch {
            request.reply(.failure(error))
        }
    }
}
