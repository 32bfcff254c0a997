import JupyterProtocol
import ZeroMQ

/// The `ZMQ_MAXMSGSIZE` backstop made visible: libzmq drops a connection on which the kernel sent a message part
/// larger than the limit (before allocating it) and never re-establishes it. The gateway then tells every
/// attached client (an iopub `stream` on stderr, parented to the last `execute_request`, so it shows in that
/// cell), logs it, and opens that socket anew: the kernel keeps running and answering.
extension KernelConnection {
    /// Called on the reactor thread when libzmq dropped `channel`'s connection for good.
    func socketDropped(_ channel: KernelChannel) {
        let limit = configuration.maxKernelMessageBytes
        logger.warning("the kernel sent a message over the size limit: ZeroMQ dropped the connection, reconnecting", metadata: [
            "kernel_id": "\(kernelID)", "channel": "\(channel.rawValue)", "max_kernel_message_size": "\(limit)",
        ])
        reopen(channel)
        broadcastNotice(Self.oversizeNotice(channel: channel, limit: limit))
    }

    /// The text clients see.
    static func oversizeNotice(channel: KernelChannel, limit: Int) -> String {
        "[elastic-jupyter gateway] The kernel sent a message larger than the gateway's limit of \(limit) bytes "
            + "(\(limit >> 20) MiB, --max-kernel-message-size) on its \(channel.rawValue) channel. "
            + "The message was dropped (its output is lost) and the gateway reconnected to the kernel.\n"
    }

    /// Sends an iopub `stream` (stderr) from the gateway to every client (and into the offline buffers).
    func broadcastNotice(_ text: String) {
        let parent = routing.withLock { $0.lastExecuteHeader }.map {
            MessageParts(header: $0, parentHeader: [], metadata: [], content: [])
        }
        let parts = MessageFactory.make(msgType: "stream", content: ["name": "stderr", "text": .string(text)],
                                        session: "gateway-\(kernelID)", parent: parent)
        deliverToAll(ChannelMessage(channel: .iopub, parts: parts), isStatus: false)
    }

    /// Closes `channel`'s socket and opens a new one to the same port (control: reopened on its next use).
    func reopen(_ channel: KernelChannel) {
        sockets.withLock { current in
            guard var value = current else { return }
            let old: ZMQSocketID?
            switch channel {
            case .shell: old = value.shell
            case .stdin: old = value.stdin
            case .iopub: old = value.iopub
            case .control: old = value.control
            }
            if let old { reactor.close(old) }
            if channel == .control {
                value.control = nil
                current = value
                return
            }
            let opened = reactor.openWithoutWaiting(
                channel == .iopub ? .sub : .dealer, endpoint: endpoint(port(of: channel)),
                options: socketOptions(for: channel, identity: value.identity),
                onDropped: { [self] in self.socketDropped(channel) },
                onMessage: { [self] frames in self.handleKernelFrames(frames, channel: channel) })
            guard let opened else { return }
            switch channel {
            case .shell: value.shell = opened
            case .stdin: value.stdin = opened
            case .iopub: value.iopub = opened
            case .control: break
            }
            current = value
        }
    }
}
