import Foundation
import Testing
import ZeroMQ

/// A gateway connects to a kernel's ports before the kernel has bound them: messages sent then must
/// still arrive, and replies must come back.
@Suite("Connect before bind", .timeLimit(.minutes(1)))
struct ConnectBeforeBindTests {
    @Test("dealers sharing an identity connect first, the routers bind later, replies arrive")
    func connectFirst() async throws {
        let gateway = ZMQReactor(name: "test-gw")
        let kernel = ZMQReactor(name: "test-kernel")
        defer { gateway.shutdown(); kernel.shutdown() }
        // Reserve two free ports by binding and closing.
        let probe = ZMQReactor(name: "test-probe")
        var ports: [String] = []
        for _ in 0..<2 {
            let (id, endpoint) = try await bindRouter(on: probe) { _ in }
            ports.append(endpoint)
            probe.close(id)
        }
        probe.shutdown()
        let identity = bytes("ej-shared")
        let atShell = Inbox()
        let atControl = Inbox()
        let shell = try await gateway.open(.dealer, endpoint: ports[0], options: .init(identity: identity), onMessage: atShell.handler)
        let control = try await gateway.open(.dealer, endpoint: ports[1], options: .init(identity: identity), onMessage: atControl.handler)
        gateway.send([bytes("hello-shell")], on: shell)
        try await Task.sleep(for: .milliseconds(300))

        let atKernelShell = Inbox()
        let atKernelControl = Inbox()
        let kernelShell = try await kernel.open(.router, endpoint: ports[0], bind: true, onMessage: atKernelShell.handler)
        let kernelControl = try await kernel.open(.router, endpoint: ports[1], bind: true, onMessage: atKernelControl.handler)
        #expect(await atKernelShell.waitFor(count: 1))
        #expect(atKernelShell.all.first == [identity, bytes("hello-shell")])
        kernel.send([identity, bytes("reply-shell")], on: kernelShell)
        #expect(await atShell.waitFor(count: 1))
        #expect(atShell.all.first == [bytes("reply-shell")])

        gateway.send([bytes("hello-control")], on: control)
        #expect(await atKernelControl.waitFor(count: 1))
        kernel.send([identity, bytes("reply-control")], on: kernelControl)
        #expect(await atControl.waitFor(count: 1))
    }
}
