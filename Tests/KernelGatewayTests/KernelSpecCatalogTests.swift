import Foundation
import JupyterProtocol
import KernelGateway
import Testing

@Suite struct KernelSpecCatalogTests {
    @Test func firstSearchDirectoryWinsOnNameClash() throws {
        let tree = try KernelSpecTempTree()
        try tree.spec("a", "python3", displayName: "From A")
        try tree.spec("b", "python3", displayName: "From B")
        try tree.spec("b", "other", displayName: "Other")
        let catalog = tree.catalog(["a", "b"])
        #expect(Set(catalog.specs().keys) == ["python3", "other"])
        #expect(catalog.spec(named: "python3")?.displayName == "From A")
        #expect(catalog.spec(named: "python3")?.resourceDirectory == tree.path("a/python3"))
        #expect(catalog.defaultKernelName == "python3")
    }

    @Test func missingSearchDirectoriesAreIgnored() throws {
        let tree = try KernelSpecTempTree()
        try tree.spec("b", "r", displayName: "R")
        #expect(Set(tree.catalog(["missing", "b"]).specs().keys) == ["r"])
    }

    @Test func namesAreLowercasedAndLookupIsCaseInsensitive() throws {
        let tree = try KernelSpecTempTree()
        try tree.spec("k", "Python_K8s", displayName: "K")
        let catalog = tree.catalog(["k"])
        #expect(Set(catalog.specs().keys) == ["python_k8s"])
        #expect(catalog.spec(named: "PYTHON_K8S")?.name == "python_k8s")
    }

    @Test func allowedListFiltersSpecsAndResources() throws {
        let tree = try KernelSpecTempTree()
        try tree.spec("k", "python3")
        try tree.spec("k", "secret")
        try tree.write("k/secret/logo-64x64.png", "png")
        let catalog = tree.catalog(["k"], allowed: ["Python3"])
        #expect(Set(catalog.specs().keys) == ["python3"])
        #expect(catalog.spec(named: "secret") == nil)
        #expect(catalog.resourcePath(kernel: "secret", file: "logo-64x64.png") == nil)
    }

    @Test func badSpecsAreSkipped() throws {
        let tree = try KernelSpecTempTree()
        try tree.spec("k", "good", displayName: "Good")
        try tree.write("k/broken/kernel.json", "{ not json")
        try tree.write("k/notobject/kernel.json", "[1, 2]")
        try tree.write("k/argvstring/kernel.json", #"{"argv": "python3 -m x", "display_name": "x", "language": "python"}"#)
        try tree.write("k/noargv/kernel.json", #"{"display_name": "x", "language": "python"}"#)
        try tree.spec("k", "badmode", extra: #""interrupt_mode": "bogus""#)
        try tree.spec("k", "badenv", extra: #""env": {"A": 1}"#)
        try tree.spec("k", "bad name", displayName: "Space")
        try tree.spec("k", "unsupported",
                      extra: #""metadata": {"process_proxy": {"class_name": "enterprise_gateway.services.processproxies.yarn.YarnClusterProcessProxy"}}"#)
        try tree.directory("k/nokerneljson")
        try tree.spec("k", ".hidden")
        try tree.write("k/plainfile", "x")
        #expect(Set(tree.catalog(["k"]).specs().keys) == ["good"])
    }

    @Test func badSpecShadowsLaterDirectoryLikeJupyter() throws {
        let tree = try KernelSpecTempTree()
        try tree.write("a/python3/kernel.json", "{ broken")
        try tree.spec("b", "python3", displayName: "B")
        #expect(tree.catalog(["a", "b"]).spec(named: "python3") == nil)
    }

    @Test func provisionerRuleAppliesThroughTheCatalog() throws {
        let tree = try KernelSpecTempTree()
        try tree.spec("k", "local")
        try tree.spec("k", "k8s", extra: #""metadata": {"process_proxy": {"class_name": "enterprise_gateway.services.processproxies.k8s.KubernetesProcessProxy"}}"#)
        let catalog = tree.catalog(["k"])
        #expect(catalog.spec(named: "local")?.provisioner == .local)
        #expect(catalog.spec(named: "k8s")?.provisioner == .kubernetes)
    }

    @Test func cachedUntilTheRescanIntervalButRefreshForces() throws {
        let tree = try KernelSpecTempTree()
        try tree.spec("k", "python3", displayName: "Old")
        let catalog = tree.catalog(["k"], rescan: .seconds(3600))
        #expect(catalog.spec(named: "python3")?.displayName == "Old")
        try tree.spec("k", "python3", displayName: "New and longer")
        try tree.spec("k", "added")
        #expect(catalog.spec(named: "python3")?.displayName == "Old")
        #expect(catalog.spec(named: "added") == nil)
        catalog.refresh()
        #expect(catalog.spec(named: "python3")?.displayName == "New and longer")
        #expect(catalog.spec(named: "added") != nil)
    }

    @Test func rereadsAfterKernelJSONChangeAndDirectoryChanges() async throws {
        let tree = try KernelSpecTempTree()
        try tree.spec("k", "python3", displayName: "Old")
        let catalog = tree.catalog(["k"], rescan: .milliseconds(20))
        #expect(catalog.spec(named: "python3")?.displayName == "Old")
        #expect(catalog.spec(named: "python3")?.resourceFiles == [])

        try tree.spec("k", "python3", displayName: "Edited")
        try await Task.sleep(for: .milliseconds(60))
        #expect(catalog.spec(named: "python3")?.displayName == "Edited")

        try tree.spec("k", "added", displayName: "Added")
        try await Task.sleep(for: .milliseconds(60))
        #expect(catalog.spec(named: "added")?.displayName == "Added")

        try tree.write("k/python3/logo-64x64.png", "png")
        try await Task.sleep(for: .milliseconds(60))
        #expect(catalog.spec(named: "python3")?.resourceFiles == ["logo-64x64.png"])

        try tree.remove("k/added")
        try await Task.sleep(for: .milliseconds(60))
        #expect(catalog.spec(named: "added") == nil)
    }

    @Test func searchDirectoryCreatedLaterIsPickedUp() async throws {
        let tree = try KernelSpecTempTree()
        let catalog = tree.catalog(["late"], rescan: .milliseconds(20))
        #expect(catalog.specs().isEmpty)
        try tree.spec("late", "python3")
        try await Task.sleep(for: .milliseconds(60))
        #expect(catalog.spec(named: "python3") != nil)
    }

    /// Kubernetes mounts a ConfigMap as `dir/..2024_x/<files>`, `dir/..data -> ..2024_x`,
    /// `dir/<file> -> ..data/<file>`, and updates it by swapping the `..data` symlink atomically.
    @Test func configMapDataSymlinkSwapIsNoticed() async throws {
        let tree = try KernelSpecTempTree()
        try tree.write("k/python3/..v1/kernel.json", KernelSpecTempTree.kernelJSON(displayName: "Version 1"))
        try tree.write("k/python3/..v1/logo-64x64.png", "png1")
        try tree.symlink("k/python3/..data", to: "..v1")
        try tree.symlink("k/python3/kernel.json", to: "..data/kernel.json")
        try tree.symlink("k/python3/logo-64x64.png", to: "..data/logo-64x64.png")
        let catalog = tree.catalog(["k"], rescan: .milliseconds(20))
        let first = try #require(catalog.spec(named: "python3"))
        #expect(first.displayName == "Version 1")
        #expect(first.resourceFiles == ["logo-64x64.png"])
        let logo = try #require(catalog.resourcePath(kernel: "python3", file: "logo-64x64.png"))
        #expect(try String(contentsOfFile: logo, encoding: .utf8) == "png1")

        try tree.write("k/python3/..v2/kernel.json", KernelSpecTempTree.kernelJSON(displayName: "Version 2"))
        try tree.write("k/python3/..v2/logo-64x64.png", "png2")
        try tree.symlink("k/python3/..data_tmp", to: "..v2")
        #expect(rename(tree.path("k/python3/..data_tmp"), tree.path("k/python3/..data")) == 0)
        try tree.remove("k/python3/..v1")
        try await Task.sleep(for: .milliseconds(60))

        #expect(catalog.spec(named: "python3")?.displayName == "Version 2")
        let newLogo = try #require(catalog.resourcePath(kernel: "python3", file: "logo-64x64.png"))
        #expect(try String(contentsOfFile: newLogo, encoding: .utf8) == "png2")
    }

    @Test func concurrentReadersAreSafe() async throws {
        let tree = try KernelSpecTempTree()
        for index in 0..<5 { try tree.spec("k", "spec\(index)") }
        let catalog = tree.catalog(["k"], rescan: .zero)
        let counts = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<16 { group.addTask { catalog.specs().count } }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts == Array(repeating: 5, count: 16))
    }

    @Test func shippedPython3KernelspecParses() throws {
        // This file is <repo>/Tests/KernelGatewayTests/…; the repository's kernelspecs/ is two levels up.
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let catalog = KernelSpecCatalog(
            configuration: KernelSpecCatalogConfiguration(searchDirectories: [repo + "/kernelspecs"]),
            logger: KernelSpecTempTree.logger)
        let spec = try #require(catalog.spec(named: "python3"))
        #expect(spec.argv == ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"])
        #expect(spec.displayName == "Python 3 (ipykernel)")
        #expect(spec.language == "python")
        #expect(spec.metadata == ["debugger": .bool(true)])
        #expect(spec.provisioner == .local)
        #expect(spec.resourceFiles == ["logo-32x32.png", "logo-64x64.png"])
        let logo = try #require(catalog.resourcePath(kernel: "python3", file: "logo-64x64.png"))
        let bytes = try #require(FileManager.default.contents(atPath: logo))
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }
}
