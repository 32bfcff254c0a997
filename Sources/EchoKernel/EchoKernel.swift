import Foundation
import JupyterProtocol
import Synchronization
import ZeroMQ

/// The kernel's protocol logic. Every handler runs on the one reactor thread; only the socket ids are shared
/// with the main thread (which sets them once, right after each bind).
final class EchoKernel: Sendable {
    private let reactor: ZMQReactor
    private let signer: MessageSigner
    private let session = UUID().uuidString.lowercased()
    private let sockets = Mutex<[ConnectionInfo.Socket: ZMQSocketID]>([:])
    private let executionCount = Atomic<Int>(0)

    init(reactor: ZMQReactor, signer: MessageSigner) {
        self.reactor = reactor
        self.signer = signer
    }

    func setSocket(_ id: ZMQSocketID, for socket: ConnectionInfo.Socket) {
        sockets.withLock { $0[socket] = id }
    }

    /// The id of a socket; a message can arrive between a bind and the main thread recording its id.
    private func id(_ socket: ConnectionInfo.Socket) -> ZMQSocketID? {
        for _ in 0..<1000 {
            if let id = sockets.withLock({ $0[socket] }) { return id }
            usleep(1000)
        }
        return nil
    }

    func handle(_ frames: [ZMQFrame], from socket: ConnectionInfo.Socket) {
        if socket == .hb {
            if let hb = id(.hb) { reactor.send(frames, on: hb) }
            return
        }
        guard let (identities, request) = try? WireCodec.decode(frames, signer: signer),
              let msgType = MessagePeek.peek(request).msgType, msgType.hasSuffix("_request"),
              let replySocket = id(socket)
        else { return }
        let replyType = String(msgType.dropLast("_request".count)) + "_reply"
        let reply = { (content: JSONValue) in
            let message = MessageFactory.make(msgType: replyType, content: content, session: self.session,
                                              parent: request, username: "echo")
            self.reactor.send(WireCodec.encode(message, identities: identities, signer: self.signer), on: replySocket)
        }
        publish("status", ["execution_state": "busy"], parent: request)
        switch msgType {
        case "kernel_info_request":
            reply(Self.kernelInfo)
        case "execute_request":
            let code = (try? JSONValue.parse(request.content))?["code"]?.stringValue ?? ""
            let count = executionCount.add(1, ordering: .relaxed).newValue
            publish("execute_input", ["code": .string(code), "execution_count": .number(Double(count))], parent: request)
            runCode(code, parent: request)
            reply(["status": "ok", "execution_count": .number(Double(count)), "user_expressions": [:], "payload": []])
        case "shutdown_request":
            let restart = (try? JSONValue.parse(request.content))?["restart"]?.boolValue ?? false
            reply(["status": "ok", "restart": .bool(restart)])
            publish("status", ["execution_state": "idle"], parent: request)
            // Let the reactor flush the reply, then go.
            Thread.detachNewThread { usleep(100_000); exit(0) }
            return
        case "comm_info_request":
            reply(["status": "ok", "comms": [:]])
        case "is_complete_request":
            reply(["status": "complete"])
        default:
            reply(["status": "ok"])
        }
        publish("status", ["execution_state": "idle"], parent: request)
    }

    /// `echo N SIZE`: N stream messages of SIZE bytes (each ends with a newline); otherwise the code itself.
    private func runCode(_ code: String, parent: MessageParts) {
        let words = code.split(separator: " ")
        if words.count == 3, words[0] == "echo", let count = Int(words[1]), let size = Int(words[2]),
           count >= 0, size >= 1 {
            let text = String(repeating: "x", count: size - 1) + "\n"
            let content = JSONValue.object(["name": "stdout", "text": .string(text)]).serialized()
            for _ in 0..<count { publish("stream", content: content, parent: parent) }
        } else {
            publish("stream", ["name": "stdout", "text": .string(code)], parent: parent)
        }
    }

    private func publish(_ msgType: String, _ content: JSONValue, parent: MessageParts) {
        publish(msgType, content: content.serialized(), parent: parent)
    }

    private func publish(_ msgType: String, content: [UInt8], parent: MessageParts) {
        guard let iopub = id(.iopub) else { return }
        var message = MessageFactory.make(msgType: msgType, session: session, parent: parent, username: "echo")
        message.content = content
        reactor.send(WireCodec.encode(message, identities: [Array(msgType.utf8)], signer: signer), on: iopub)
    }

    private static let kernelInfo: JSONValue = [
        "status": "ok",
        "protocol_version": .string(MessageFactory.protocolVersion),
        "implementation": "echo-kernel",
        "implementation_version": "1.0",
        "language_info": ["name": "echo", "version": "1.0", "mimetype": "text/plain", "file_extension": ".txt"],
        "banner": "echo-kernel: `echo N SIZE` publishes N stream messages of SIZE bytes",
        "help_links": [],
    ]
}
