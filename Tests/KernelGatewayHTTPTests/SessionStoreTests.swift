import Testing
@testable import KernelGatewayHTTP

@Suite struct SessionStoreTests {
    func record(_ id: String, path: String, kernel: String = "k") -> SessionRecord {
        SessionRecord(id: id, path: path, name: "", type: "notebook", kernelID: kernel)
    }

    @Test func refusesNewSessionsBeyondTheLimitButKeepsUpdating() async {
        let store = SessionStore(limit: 2)
        #expect(await store.insert(record("a", path: "a.ipynb")))
        #expect(await store.insert(record("b", path: "b.ipynb")))
        #expect(await !store.insert(record("c", path: "c.ipynb")))
        #expect(await store.all().map(\.id) == ["a", "b"])
        #expect(await store.insert(record("a", path: "renamed.ipynb")))
        #expect(await store.session(forPath: "renamed.ipynb")?.id == "a")
        #expect(await store.session(forPath: "a.ipynb") == nil)
        await store.remove("b")
        #expect(await store.insert(record("c", path: "c.ipynb")))
    }

    @Test func pathIndexFollowsRemovalsAndPrunes() async {
        let store = SessionStore(limit: 10)
        await store.insert(record("a", path: "same.ipynb", kernel: "k1"))
        await store.insert(record("b", path: "same.ipynb", kernel: "k2"))
        #expect(await store.session(forPath: "same.ipynb")?.id == "a")
        await store.remove("a")
        #expect(await store.session(forPath: "same.ipynb")?.id == "b")
        await store.prune(liveKernels: ["k1"])
        #expect(await store.session(forPath: "same.ipynb") == nil)
        #expect(await store.all().isEmpty)
    }
}
