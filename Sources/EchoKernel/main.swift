// echo-kernel: a minimal native Jupyter kernel for benchmarks and load tests.
//
// Usage: echo-kernel -f CONNECTION_FILE
//
// It answers the protocol with almost no work of its own, so that measurements through a gateway show the
// gateway's cost, and 200 of them fit on a small machine. `echo N SIZE` publishes N stream messages of SIZE
// bytes each; any other code is published back as one stream message. See EchoKernel.swift.
import Foundation
import JupyterProtocol
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("echo-kernel: \(message)\n".utf8))
    exit(2)
}

var connectionPath: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "-f", "--connection-file": connectionPath = arguments.next()
    case let other where other.hasPrefix("--connection-file="): connectionPath = String(other.dropFirst(18))
    default: fail("unknown argument \(argument); usage: echo-kernel -f CONNECTION_FILE")
    }
}
guard let connectionPath else { fail("usage: echo-kernel -f CONNECTION_FILE") }

let info: ConnectionInfo
let signer: MessageSigner
do {
    let data = try Data(contentsOf: URL(fileURLWithPath: connectionPath))
    info = try JSONDecoder().decode(ConnectionInfo.self, from: data)
    signer = try info.makeSigner()
} catch {
    fail("cannot read connection file \(connectionPath): \(error)")
}

// Interrupts are answered on control (and SIGINT, the default interrupt, must not kill us).
signal(SIGINT, SIG_IGN)
watchParent()

let reactor = ZMQReactor(name: "echo-kernel")
let kernel = EchoKernel(reactor: reactor, signer: signer)
do {
    let iopub = try await reactor.open(.pub, endpoint: info.endpoint(for: .iopub), bind: true) { _ in }
    kernel.setSocket(iopub, for: .iopub)
    for socket in [ConnectionInfo.Socket.hb, .shell, .control, .stdin] {
        let id = try await reactor.open(socket == .hb ? .rep : .router, endpoint: info.endpoint(for: socket),
                                        bind: true) { frames in kernel.handle(frames, from: socket) }
        kernel.setSocket(id, for: socket)
    }
} catch {
    fail("cannot bind: \(error)")
}

// Everything happens on the reactor thread from here on; park the main thread.
while true { sleep(3600) }

/// Exits when the process that started us (JPY_PARENT_PID, or our parent) is gone, as ipykernel does.
func watchParent() {
    let parent = ProcessInfo.processInfo.environment["JPY_PARENT_PID"].flatMap { Int32($0) } ?? getppid()
    let original = getppid()
    let thread = Thread {
        while true {
            sleep(1)
            if getppid() != original || (parent > 1 && kill(parent, 0) != 0 && errno == ESRCH) { exit(0) }
        }
    }
    thread.stackSize = 64 * 1024
    thread.start()
}
