import ArgumentParser
import Logging
import ServiceLifecycle

/// `elastic-jupyter pause`: sleeps until SIGTERM or SIGINT, then exits 0. The main container of a gateway's
/// image pre-pulling pods (their init containers did the work), so they need no image with a shell or `sleep`.
struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Sleep until SIGTERM or SIGINT (the main container of the image pre-pulling pods).")

    func run() async throws {
        var logger = Logger(label: "elastic-jupyter.pause")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: Pause(), successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// A service doing nothing until the graceful shutdown begins.
struct Pause: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
