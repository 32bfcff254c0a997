import ArgumentParser

/// `elastic-jupyter`: elastic Jupyter kernels (a gateway) and their Kubernetes controller.
@main
struct ElasticJupyterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elastic-jupyter",
        abstract: "Elastic Jupyter: an Enterprise Gateway compatible kernel gateway.",
        subcommands: [GatewayCommand.self, ControllerCommand.self, PauseCommand.self])
}
