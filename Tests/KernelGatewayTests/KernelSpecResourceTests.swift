import Foundation
import KernelGateway
import Testing

@Suite struct KernelSpecResourceTests {
    private func makeTree() throws -> KernelSpecTempTree {
        let tree = try KernelSpecTempTree()
        try tree.spec("k", "alpha")
        try tree.write("k/alpha/logo-64x64.png", "alpha logo")
        try tree.write("k/alpha/kernel.js", "js")
        try tree.write("k/alpha/sub/extra.css", "css")
        try tree.write("k/alpha/.hidden", "hidden")
        try tree.symlink("k/alpha/escape-abs.png", to: "/etc/passwd")
        try tree.symlink("k/alpha/escape-rel.png", to: "../beta/secret.txt")
        try tree.symlink("k/alpha/inside.png", to: "logo-64x64.png")
        try tree.symlink("k/alpha/dirlink", to: "..")
        try tree.spec("k", "beta")
        try tree.write("k/beta/secret.txt", "secret")
        try tree.write("k/outside.txt", "outside")
        return tree
    }

    @Test func resourceFilesListOnlyContainedRegularFiles() throws {
        let tree = try makeTree()
        let spec = try #require(tree.catalog(["k"]).spec(named: "alpha"))
        #expect(spec.resourceFiles == ["inside.png", "kernel.js", "logo-64x64.png"])
    }

    @Test func legitimateResourcesResolve() throws {
        let tree = try makeTree()
        let catalog = tree.catalog(["k"])
        let logo = try #require(catalog.resourcePath(kernel: "alpha", file: "logo-64x64.png"))
        #expect(logo.hasPrefix("/"))
        #expect(try String(contentsOfFile: logo, encoding: .utf8) == "alpha logo")
        #expect(catalog.resourcePath(kernel: "ALPHA", file: "kernel.js") != nil)
        #expect(catalog.resourcePath(kernel: "alpha", file: "sub/extra.css") != nil)
        #expect(catalog.resourcePath(kernel: "alpha", file: "inside.png") == logo)
        #expect(catalog.resourcePath(kernel: "alpha", file: "kernel.json") != nil)
    }

    @Test(arguments: [
        "../beta/kernel.json", "../beta/secret.txt", "../outside.txt", "sub/../../beta/kernel.json",
        "./logo-64x64.png", "sub//extra.css", "/etc/passwd", "//etc/passwd",
        "..%2fbeta%2fkernel.json", "%2e%2e/beta/kernel.json", "..\\beta\\kernel.json",
        "escape-abs.png", "escape-rel.png", "dirlink/beta/kernel.json", "dirlink",
        ".hidden", "sub", "", ".", "..", "missing.png", "logo-64x64.png\0.txt", "logo-64x64.png/",
    ])
    func traversalAttemptsAreRejected(file: String) throws {
        let tree = try makeTree()
        #expect(tree.catalog(["k"]).resourcePath(kernel: "alpha", file: file) == nil)
    }

    @Test func unknownKernelsHaveNoResources() throws {
        let tree = try makeTree()
        let catalog = tree.catalog(["k"])
        #expect(catalog.resourcePath(kernel: "gamma", file: "logo-64x64.png") == nil)
        #expect(catalog.resourcePath(kernel: "../k/alpha", file: "logo-64x64.png") == nil)
        #expect(catalog.resourcePath(kernel: "..", file: "outside.txt") == nil)
    }
}
