import CZeroMQ

extension ReactorLoop {
    /// Starts watching `entry`'s connection: a `ZMQ_PAIR` socket reads its monitor events. If the monitor cannot
    /// be set up the socket simply stays unwatched.
    func watchConnection(of entry: SocketEntry) {
        guard let handle = entry.handle else { return }
        let monitorID = ZMQSocketID.next()
        let endpoint = "inproc://ej-monitor-\(monitorID.rawValue)"
        guard zmq_socket_monitor(handle, endpoint, ConnectionWatch.events) == 0,
              let monitor = try? SocketSetup.makeSocket(
                context: context, type: .pair, endpoint: endpoint, bind: false, options: ZMQSocketOptions()),
              let notifyFD = try? SocketSetup.notificationDescriptor(monitor)
        else { return }
        let watched = entry.id
        let monitorEntry = SocketEntry(id: monitorID, type: .pair, handle: monitor, notifyFD: notifyFD) { [weak self] frames in
            guard let self, let event = ConnectionWatch.event(frames) else { return }
            self.watch.note(event, on: watched, now: .now)
        }
        sockets[monitorID] = monitorEntry
        watch.monitors[watched] = monitorID
        markForAttention(monitorEntry)
    }

    /// Tells the owners of connections dropped for good (no retry within the grace period).
    func reportDroppedConnections() {
        for id in watch.expired(now: .now) {
            guard let entry = sockets[id], entry.isOpen else { continue }
            entry.onDropped?()
        }
    }
}
