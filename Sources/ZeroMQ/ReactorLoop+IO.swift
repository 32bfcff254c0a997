import CZeroMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ReactorLoop {
    /// Receives and flushes what `entry` allows right now, then decides whether it needs
    /// another round (see ``ReactorLoop``'s documentation).
    func service(_ entry: SocketEntry) {
        guard let events = currentEvents(entry) else { return }
        if events & ZMQ_POLLIN != 0 {
            receiveAll(from: entry)
        }
        if entry.isOpen, !entry.outbox.isEmpty {
            flush(entry)
        }
        guard let after = currentEvents(entry) else { return }
        let moreInput = after & ZMQ_POLLIN != 0
        let canFlush = after & ZMQ_POLLOUT != 0 && !entry.outbox.isEmpty
        if moreInput || canFlush { markForAttention(entry) }
    }

    /// `ZMQ_EVENTS` of an open socket; nil if it is closed or the context is terminating (then
    /// every socket is closed, which lets `zmq_ctx_term` finish).
    private func currentEvents(_ entry: SocketEntry) -> Int32? {
        guard entry.isOpen else { return nil }
        while true {
            if let events = entry.readEvents() { return events }
            let code = zmq_errno()
            if code == EINTR { continue }
            if code == ZMQErrorCode.terminated { closeAllSockets() }
            return nil
        }
    }

    /// Delivers the complete messages waiting on `entry` (up to ``receiveBudget``), each as one
    /// call of its handler with all frames.
    func receiveAll(from entry: SocketEntry) {
        var delivered = 0
        while delivered < Self.receiveBudget, let handle = entry.handle {
            if zmq_msg_recv(message, handle, ZMQ_DONTWAIT) < 0 {
                let code = zmq_errno()
                if code == EINTR { continue }
                if code == ZMQErrorCode.terminated { closeAllSockets() }
                break  // EAGAIN: drained.
            }
            entry.incoming.append(copyFrame())
            let more = zmq_msg_more(message) != 0
            if zmq_msg_size(message) >= Self.largeFrame {
                // A large frame is copied out: give libzmq's buffer back now, not after the whole batch.
                zmq_msg_close(message)
                zmq_msg_init(message)
            }
            if !more {
                let frames = entry.incoming
                entry.incoming = []
                entry.onMessage(frames)
                delivered += 1
            }
        }
        // Do not keep the last (possibly large) frame alive until the next receive.
        zmq_msg_close(message)
        zmq_msg_init(message)
    }

    /// Frames at least this large are released from libzmq as soon as they are copied.
    static let largeFrame = 64 * 1024

    /// Copies the current frame out of the receive buffer (the only copy on the receive path).
    private func copyFrame() -> ZMQFrame {
        let size = zmq_msg_size(message)
        guard size > 0, let source = zmq_msg_data(message) else { return [] }
        return ZMQFrame(unsafeUninitializedCapacity: size) { buffer, count in
            buffer.baseAddress!.initialize(from: source.assumingMemoryBound(to: UInt8.self), count: size)
            count = size
        }
    }

    /// Sends `frames` now if nothing is queued before it; otherwise, or if libzmq says "try
    /// again", queues it until the socket accepts more.
    func send(_ frames: [ZMQFrame], on entry: SocketEntry) {
        if !entry.outbox.isEmpty {
            entry.outbox.append(frames)
        } else if case .wouldBlock(let sentFrames) = transmit(frames, on: entry, from: 0) {
            entry.outbox.append(frames, sentFrames: sentFrames)
        }
        // Sending may have consumed the socket's notification: look at it before blocking.
        markForAttention(entry)
    }

    /// Sends queued messages until the outbox is empty or libzmq pushes back again.
    func flush(_ entry: SocketEntry) {
        while entry.isOpen, let frames = entry.outbox.first {
            switch transmit(frames, on: entry, from: entry.outbox.sentFramesOfHead) {
            case .done:
                if entry.isOpen { entry.outbox.removeFirst() }
            case .wouldBlock(let sentFrames):
                entry.outbox.sentFramesOfHead = sentFrames
                return
            }
        }
    }

    enum TransmitResult {
        /// Sent, or discarded after a hard error (counted in `failedSends`).
        case done
        /// The high-water mark (or "no peer yet") stopped us after `sentFrames` frames.
        case wouldBlock(sentFrames: Int)
    }

    /// Hands frames `start...` of one multipart message to libzmq without blocking.
    private func transmit(_ frames: [ZMQFrame], on entry: SocketEntry, from start: Int) -> TransmitResult {
        var index = start
        while index < frames.count {
            guard let handle = entry.handle else { return .done }
            let flags = ZMQ_DONTWAIT | (index < frames.count - 1 ? ZMQ_SNDMORE : 0)
            if sendFrame(frames[index], on: handle, flags: flags) {
                index += 1
                continue
            }
            switch zmq_errno() {
            case EINTR:
                continue
            case EAGAIN:
                return .wouldBlock(sentFrames: index)
            case ZMQErrorCode.terminated:
                closeAllSockets()
                return .done
            default:
                // e.g. EFSM on a REQ socket sending twice: the message cannot be sent at all.
                mailbox.failedSends.add(1, ordering: .relaxed)
                return .done
            }
        }
        return .done
    }

    private func sendFrame(_ frame: ZMQFrame, on handle: UnsafeMutableRawPointer, flags: Int32) -> Bool {
        if frame.isEmpty {
            var placeholder: UInt8 = 0
            return withUnsafeBytes(of: &placeholder) { zmq_send(handle, $0.baseAddress, 0, flags) } >= 0
        }
        return frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) } >= 0
    }
}
