import Foundation
import JupyterProtocol
import Logging
import Synchronization
import Testing
import ZeroMQ

@testable import KernelGateway

/// The ZeroMQ sockets a kernel connection opens: control on first use (sharing shell's identity, so replies
/// route back), a heartbeat REQ socket per probe. The peer here is a bare ZeroMQ stand-in for a kernel's
/// sockets; the full path against real ipykernel is in tests/integration.
@Suite("kernel connection sockets", .timeLimit(.minutes(1)))
struct KernelConnectionSocketsTests {
    final class Received: Sendable {
        let frames = Mutex<[[[UInt8]]]>([])
        func add(_ message: [[UInt8]]) { frames.withLock { $0.append(message) } }
        var all: [[[UInt8]]] { frames.withLock { $0 } }
    }

    static func port(_ endpoint: String) -> Int { Int(endpoint.split(separator: ":").last!)! }

    /// A stand-in kernel: ROUTERs on shell/control/stdin, a PUB on iopub, an echoing REP on hb.
    struct Peer {
        let reactor: ZMQReactor
        let info: ConnectionInfo
        let shell: ZMQSocketID, control: ZMQSocketID, hb: ZMQSocketID
        let atShell: Received, atControl: Received
    }

    static func makePeer(key: String) async throws -> Peer {
        let reactor = ZMQReactor(name: "test-peer")
        let atShell = Received(), atControl = Received()
        let shell = try await reactor.open(.router, endpoint: "tcp://127.0.0.1:*", bind: true) { atShell.add($0) }
        let control = try await reactor.open(.router, endpoint: "tcp://127.0.0.1:*", bind: true) { atControl.add($0) }
        let stdin = try await reactor.open(.router, endpoint: "tcp://127.0.0.1:*", bind: true) { _ in }
        let iopub = try await reactor.open(.pub, endpoint: "tcp://127.0.0.1:*", bind: true) { _ in }
        let hbHolder = Mutex<ZMQSocketID?>(nil)
        let hb = try await reactor.open(.rep, endpoint: "tcp://127.0.0.1:*", bind: true) { frames in
            if let hb = hbHolder.withLock({ $0 }) { reactor.send(frames, on: hb) }
        }
        hbHolder.withLock { $0 = hb }
        var ports: [Int] = []
        for id in [shell, iopub, stdin, control, hb] { ports.append(port(try await reactor.lastEndpoint(id))) }
        let info = ConnectionInfo(shellPort: ports[0], iopubPort: ports[1], stdinPort: ports[2], controlPort: ports[3],
                                  hbPort: ports[4], key: key)
        return Peer(reactor: reactor, info: info, shell: shell, control: control, hb: hb, atShell: atShell, atControl: atControl)
    }

    /// Runs `body` with a connected KernelConnection to a fresh stand-in kernel (and its key).
    static func withConnection(_ body: (KernelConnection, Peer, String) async throws -> Void) async throws {
        let key = UUID().uuidString
        let peer = try await makePeer(key: key)
        defer { peer.reactor.shutdown() }
        let reactor = ZMQReactor(name: "test-gw")
        defer { reactor.shutdown() }
        let connection = try KernelConnection(kernelID: "k1", info: peer.info, reactor: reactor,
                                              configuration: KernelManagerConfiguration(rootDirectory: "/tmp"),
                                              logger: Logger(label: "test"), onKernelMessage: { _, _, _ in })
        try await connection.connect()
        defer { connection.disconnect() }
        try await body(connection, peer, key)
    }

    @Test func heartbeatProbesOpenTheirOwnSocketAndTellAliveFromSilent() async throws {
        try await Self.withConnection { connection, peer, _ in
            for _ in 0..<3 { #expect(await connection.probeHeartbeat(timeout: .seconds(5))) }
            peer.reactor.close(peer.hb)  // the kernel stops answering
            let started = ContinuousClock.now
            #expect(await connection.probeHeartbeat(timeout: .milliseconds(300)) == false)
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }

    @Test func controlIsOpenedOnFirstUseWithShellsIdentityAndRepliesComeBack() async throws {
        try await Self.withConnection { connection, peer, key in
            let signer = try MessageSigner(key: Array(key.utf8), scheme: "hmac-sha256")

            // a reply from the stand-in kernel to whatever arrives on control, addressed by the sender's identity
            async let answered: [[UInt8]] = {
                while !Task.isCancelled {
                    if let first = peer.atControl.all.first {
                        let (identities, request) = try WireCodec.decode(first, signer: signer)
                        let reply = MessageFactory.make(msgType: "interrupt_reply", content: [:], session: "kernel", parent: request)
                        peer.reactor.send(WireCodec.encode(reply, identities: identities, signer: signer), on: peer.control)
                        return identities
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
                return []
            }()
            let request = MessageFactory.make(msgType: "interrupt_request", content: [:], session: "gateway-k1")
            let reply = try await connection.request(request, channel: .control, timeout: .seconds(10))
            #expect(MessagePeek.peek(reply).msgType == "interrupt_reply")
            let controlIdentity = try await answered

            _ = try? await connection.request(MessageFactory.make(msgType: "kernel_info_request", session: "gateway-k1"),
                                              channel: .shell, timeout: .milliseconds(300))
            let shellIdentity = try #require(peer.atShell.all.first.map { try WireCodec.decode($0, signer: signer).identities })
            #expect(controlIdentity == shellIdentity)
            #expect(controlIdentity.count == 1)
        }
    }
}
