import KubernetesRuntime
import NIOCore

/// Hummingbird does not cancel a handler whose client went away (and, with remote half-closure allowed, the
/// channel does not even close). A kernel start can take minutes (a pod waiting for its image or a node); when
/// nobody is left to learn the kernel's id, the start is cancelled so its kernel (and pod) does not linger.
enum ClientDisconnect {
    /// Runs `body`, cancelling it if the client of `channel` goes away first (then throws `CancellationError`).
    static func cancelling<T: Sendable>(
        ifGone channel: any Channel, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await waitUntilGone(channel)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw CancellationError() }
            return value
        }
    }

    /// Returns once the client has closed its side of the connection (or the channel closed); throws
    /// `CancellationError` if cancelled before.
    static func waitUntilGone(_ channel: any Channel) async throws {
        if let signal = try? await channel.eventLoop.submit({
            try channel.pipeline.syncOperations.handler(type: InputClosedHandler.self).signal
        }).get() {
            return try await signal.wait()  // the handler also opens it when the channel closes
        }
        let closed = Gate()
        channel.closeFuture.whenComplete { _ in closed.open() }
        try await closed.wait()
    }
}

/// Fires once the client closed its side of the connection (`ChannelEvent.inputClosed`).
final class InputClosedHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let signal = Gate()

    init() {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent { signal.open() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        signal.open()
        context.fireChannelInactive()
    }
}
