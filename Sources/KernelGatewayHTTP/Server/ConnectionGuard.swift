import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Limits on raw connections, applied before TLS and HTTP parsing so that half-open or idle sockets cannot
/// pile up (slowloris): a connection must deliver a complete request head within `headerTimeout` of being
/// accepted, and at most `maxConnections` are open at once (the next ones are closed at once, so the
/// server never stops accepting: whoever is refused can retry as soon as a slot frees up).
public struct ConnectionLimits: Sendable {
    /// Time from accepting a connection (TLS handshake included) to its first complete request head.
    public var headerTimeout: Duration
    /// Most connections open at once; 0 = unlimited.
    public var maxConnections: Int

    /// Creates limits.
    public init(headerTimeout: Duration = .seconds(10), maxConnections: Int = 1024) {
        self.headerTimeout = headerTimeout
        self.maxConnections = maxConnections
    }
}

/// The number of open connections, shared by every connection's guard.
final class ConnectionCounter: Sendable {
    private let open = Mutex(0)

    /// Takes a slot; false when `limit` (> 0) slots are taken already.
    func acquire(limit: Int) -> Bool {
        open.withLock { count in
            guard limit <= 0 || count < limit else { return false }
            count += 1
            return true
        }
    }

    func release() { open.withLock { $0 -= 1 } }

    var current: Int { open.withLock { $0 } }
}

/// Sent (as an outbound user event) by the router once a request head has been parsed: the connection has
/// proved it speaks HTTP, so its header deadline no longer applies.
struct RequestHeadReceived: Sendable {}

/// First handler of every connection: closes it when its header deadline passes.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private let headerTimeout: Duration
    private var deadline: Scheduled<Void>?

    init(headerTimeout: Duration) {
        self.headerTimeout = headerTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .init(headerTimeout)) {
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is RequestHeadReceived else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        deadline?.cancel()
        deadline = nil
        promise?.succeed(())
    }
}

/// A connection beyond `ConnectionLimits.maxConnections`: its setup fails, so it is closed before anything
/// reads from it.
struct TooManyConnections: Error {}

/// Wraps a child channel (HTTP, WebSocket, TLS) so that `ConnectionGuardHandler` is the first handler of
/// every accepted connection (and `HandshakeCheckHandler` sees its first request head); a connection over the
/// cap is closed at once.
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let limits: ConnectionLimits
    let counter: ConnectionCounter

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard counter.acquire(limit: limits.maxConnections) else {
            logger.warning("connection refused: too many open connections", metadata: ["limit": "\(limits.maxConnections)"])
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(TooManyConnections())
        }
        channel.closeFuture.whenComplete { [counter] _ in counter.release() }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                ConnectionGuardHandler(headerTimeout: limits.headerTimeout), position: .first)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }.flatMapThrowing { value in
            try HandshakeCheckHandler.install(on: channel)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
