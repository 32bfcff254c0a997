import Foundation
import KernelGateway
import Testing

@Suite struct KernelSpecSearchPathTests {
    @Test func documentedOrderWithInstalledLayout() throws {
        let tree = try KernelSpecTempTree()
        try tree.write("prefix/bin/elastic-jupyter", "")
        let shipped = try tree.directory("prefix/share/elastic-jupyter/kernelspecs")
        let dirs = KernelSpecCatalog.defaultSearchDirectories(
            explicit: ["/explicit/one", "/explicit/two"],
            environment: ["JUPYTER_PATH": "/jp/a::/jp/b", "JUPYTER_DATA_DIR": "/data", "HOME": "/home/u"],
            executablePath: tree.path("prefix/bin/elastic-jupyter"))
        #expect(dirs == [
            "/explicit/one", "/explicit/two",
            "/jp/a/kernels", "/jp/b/kernels",
            realpath(shipped),
            "/data/kernels",
            "/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels",
        ])
    }

    @Test func checkoutLayoutIsFoundByWalkingUp() throws {
        let tree = try KernelSpecTempTree()
        try tree.write("repo/Package.swift", "// swift-tools-version:6.2")
        try tree.directory("repo/kernelspecs")
        try tree.write("repo/.build/x86_64-unknown-linux-gnu/debug/elastic-jupyter", "")
        let dirs = KernelSpecCatalog.defaultSearchDirectories(
            explicit: [], environment: ["HOME": "/home/u"],
            executablePath: tree.path("repo/.build/x86_64-unknown-linux-gnu/debug/elastic-jupyter"))
        #expect(dirs == [
            realpath(tree.path("repo")) + "/kernelspecs",
            "/home/u/.local/share/jupyter/kernels",
            "/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels",
        ])
    }

    @Test func installedLayoutBeatsCheckout() throws {
        let tree = try KernelSpecTempTree()
        try tree.write("repo/Package.swift", "")
        try tree.directory("repo/kernelspecs")
        try tree.write("repo/prefix/bin/elastic-jupyter", "")
        let shipped = try tree.directory("repo/prefix/share/elastic-jupyter/kernelspecs")
        let dirs = KernelSpecCatalog.defaultSearchDirectories(
            explicit: [], environment: [:], executablePath: tree.path("repo/prefix/bin/elastic-jupyter"))
        #expect(dirs == [realpath(shipped), "/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels"])
    }

    @Test func userDataDirFallbacksAndDeduplication() throws {
        let noShipped = "/nonexistent-ej/bin/elastic-jupyter"
        #expect(KernelSpecCatalog.defaultSearchDirectories(
            explicit: [], environment: ["XDG_DATA_HOME": "/xdg", "HOME": "/home/u"], executablePath: noShipped)
            == ["/xdg/jupyter/kernels", "/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels"])
        #expect(KernelSpecCatalog.defaultSearchDirectories(
            explicit: ["/usr/share/jupyter/kernels", "/x//y/"], environment: ["JUPYTER_PATH": "/x/y:/usr/share/jupyter"],
            executablePath: noShipped)
            == ["/usr/share/jupyter/kernels", "/x/y", "/x/y/kernels", "/usr/local/share/jupyter/kernels"])
    }

    @Test func jupyterPathEntriesAreSearchedBeforeSystemDirectories() throws {
        let tree = try KernelSpecTempTree()
        try tree.spec("first/kernels", "ej-test-kernel", displayName: "First")
        try tree.spec("second/kernels", "ej-test-kernel", displayName: "Second")
        try tree.spec("second/kernels", "ej-only-second", displayName: "Only second")
        let dirs = KernelSpecCatalog.defaultSearchDirectories(
            explicit: [], environment: ["JUPYTER_PATH": tree.path("first") + ":" + tree.path("second")],
            executablePath: "/nonexistent-ej/bin/elastic-jupyter")
        let catalog = KernelSpecCatalog(configuration: KernelSpecCatalogConfiguration(searchDirectories: dirs),
                                        logger: KernelSpecTempTree.logger)
        #expect(catalog.spec(named: "ej-test-kernel")?.displayName == "First")
        #expect(catalog.spec(named: "ej-only-second")?.displayName == "Only second")
    }

    private func realpath(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }
}
