import CZeroMQ

/// Creating, configuring and attaching a libzmq socket (reactor thread only).
enum SocketSetup {
    /// Creates a socket of `type`, applies `options`, then binds or connects it to `endpoint`.
    /// On failure the half-made socket is closed before the error is thrown.
    static func makeSocket(
        context: ZMQContext, type: ZMQSocketType, endpoint: String, bind: Bool, options: ZMQSocketOptions
    ) throws(ZMQError) -> UnsafeMutableRawPointer {
        let socket = try context.makeSocket(type)
        do throws(ZMQError) {
            try configure(socket, type: type, endpoint: endpoint, options: options)
            let rc = bind ? zmq_bind(socket, endpoint) : zmq_connect(socket, endpoint)
            if rc != 0 {
                throw ZMQError.last("\(bind ? "zmq_bind" : "zmq_connect")(\(endpoint))")
            }
            return socket
        } catch {
            var linger: Int32 = 0
            zmq_setsockopt(socket, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
            zmq_close(socket)
            throw error
        }
    }

    /// Applies every option that must be set before bind/connect.
    private static func configure(
        _ socket: UnsafeMutableRawPointer, type: ZMQSocketType, endpoint: String, options: ZMQSocketOptions
    ) throws(ZMQError) {
        try setInt(socket, ZMQ_LINGER, options.linger, "ZMQ_LINGER")
        try setInt(socket, ZMQ_RCVHWM, options.receiveHighWaterMark, "ZMQ_RCVHWM")
        try setInt(socket, ZMQ_SNDHWM, options.sendHighWaterMark, "ZMQ_SNDHWM")
        if options.ipv6 || endpoint.contains("[") {
            try setInt(socket, ZMQ_IPV6, 1, "ZMQ_IPV6")
        }
        if options.immediate {
            try setInt(socket, ZMQ_IMMEDIATE, 1, "ZMQ_IMMEDIATE")
        }
        if let interval = options.reconnectInterval {
            try setInt(socket, ZMQ_RECONNECT_IVL, interval, "ZMQ_RECONNECT_IVL")
        }
        if let limit = options.maxMessageSize {
            var value = limit
            if zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &value, MemoryLayout<Int64>.size) != 0 {
                throw ZMQError.last("zmq_setsockopt(ZMQ_MAXMSGSIZE)")
            }
        }
        if let identity = options.identity {
            try setBytes(socket, ZMQ_ROUTING_ID, identity, "ZMQ_ROUTING_ID")
        }
        switch type {
        case .sub:
            for prefix in options.subscribe {
                try setBytes(socket, ZMQ_SUBSCRIBE, prefix, "ZMQ_SUBSCRIBE")
            }
        case .req:
            if options.requestRelaxed { try setInt(socket, ZMQ_REQ_RELAXED, 1, "ZMQ_REQ_RELAXED") }
            if options.requestCorrelate { try setInt(socket, ZMQ_REQ_CORRELATE, 1, "ZMQ_REQ_CORRELATE") }
        default:
            break
        }
    }

    private static func setInt(
        _ socket: UnsafeMutableRawPointer, _ option: Int32, _ value: Int32, _ name: String
    ) throws(ZMQError) {
        var value = value
        if zmq_setsockopt(socket, option, &value, MemoryLayout<Int32>.size) != 0 {
            throw ZMQError.last("zmq_setsockopt(\(name))")
        }
    }

    private static func setBytes(
        _ socket: UnsafeMutableRawPointer, _ option: Int32, _ value: [UInt8], _ name: String
    ) throws(ZMQError) {
        let rc = value.withUnsafeBytes { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
        if rc != 0 { throw ZMQError.last("zmq_setsockopt(\(name))") }
    }

    /// Reads `ZMQ_FD`: a descriptor that becomes readable whenever the socket's `ZMQ_EVENTS` may
    /// have changed (`zmq_fd_t` is `int` on Linux and macOS).
    static func notificationDescriptor(_ socket: UnsafeMutableRawPointer) throws(ZMQError) -> Int32 {
        var fd: Int32 = -1
        var size = MemoryLayout<Int32>.size
        if zmq_getsockopt(socket, ZMQ_FD, &fd, &size) != 0 { throw ZMQError.last("zmq_getsockopt(ZMQ_FD)") }
        return fd
    }

    /// Reads `ZMQ_LAST_ENDPOINT`, e.g. `tcp://127.0.0.1:41234` after binding port `*`.
    static func lastEndpoint(_ socket: UnsafeMutableRawPointer) throws(ZMQError) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        let rc = buffer.withUnsafeMutableBytes { zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, $0.baseAddress, &size) }
        if rc != 0 { throw ZMQError.last("zmq_getsockopt(ZMQ_LAST_ENDPOINT)") }
        let bytes = buffer.prefix(size).prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
