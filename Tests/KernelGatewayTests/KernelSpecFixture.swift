@testable import KernelGateway

/// Builds in-memory kernelspecs for unit tests.
enum KernelSpecFixture {
    static func make(name: String = "test", env: [String: String] = [:], language: String = "python") -> KernelSpec {
        KernelSpec(name: name, resourceDirectory: "/nonexistent/\(name)", argv: ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                   displayName: "Test", language: language, env: env)
    }
}
