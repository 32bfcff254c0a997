import Foundation
import NIOCore
import Testing

@testable import KubernetesAPI

@Suite("watch")
struct WatchTests {
    @Test func lineSplitterHandlesAnyChunkBoundaries() throws {
        let lines = (0..<20).map { #"{"type":"ADDED","n":\#($0),"pad":"\#(String(repeating: "x", count: $0 * 7))"}"# }
        let text = lines.joined(separator: "\n") + "\r\n"
        let bytes = Array(text.utf8)
        for chunkSize in [1, 2, 3, 7, 64, 1000] {
            var splitter = LineSplitter()
            var out: [String] = []
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + chunkSize)
                try splitter.append(ByteBuffer(bytes: bytes[offset..<end]))
                while let line = splitter.nextLine() { out.append(String(buffer: line)) }
                offset = end
            }
            #expect(out == lines, "chunk size \(chunkSize)")
            #expect(splitter.finish() == nil)
        }
        var splitter = LineSplitter()
        try splitter.append(ByteBuffer(string: "a\nb"))
        #expect(splitter.nextLine().map { String(buffer: $0) } == "a")
        #expect(splitter.nextLine() == nil)
        #expect(splitter.finish().map { String(buffer: $0) } == "b")
    }

    @Test func lineSplitterRejectsHugeLines() throws {
        var splitter = LineSplitter(maxLineBytes: 10)
        #expect(throws: KubernetesError.self) { try splitter.append(ByteBuffer(string: String(repeating: "x", count: 11))) }
    }

    @Test func eventsArriveTypedAcrossSplitChunks() async throws {
        let added = watchLine("ADDED", podJSON("a", rv: "11"))
        let modified = watchLine("MODIFIED", podJSON("a", rv: "12"))
        let bookmark = watchLine("BOOKMARK", ["kind": "Pod", "apiVersion": "v1", "metadata": ["resourceVersion": "15"]])
        let deleted = watchLine("DELETED", podJSON("a", rv: "16"))
        let warning = watchLine("ERROR", ["kind": "Status", "code": 500, "reason": "InternalError", "message": "hiccup"])
        // Each line is cut in two, and one chunk carries the end of one line and the start of the next.
        let a = added.index(added.startIndex, offsetBy: 10)
        let m = modified.index(modified.startIndex, offsetBy: 25)
        let chunks: [FakeChunk] = [
            .data(String(added[..<a])), .delay(.milliseconds(30)),
            .data(String(added[a...]) + String(modified[..<m])), .delay(.milliseconds(30)),
            .data(String(modified[m...]) + bookmark), .data(deleted + "\n"), .data(warning),
        ]
        try await FakeHTTPServer.with({ _ in .stream(status: 200, chunks: chunks) }) { server in
            try await withTestClient(server.url) { client in
                let stream = try await client.watch(
                    .pods, namespace: "test",
                    options: WatchOptions(labelSelector: "app in (kernel,x)", resourceVersion: "10", timeoutSeconds: 30),
                    as: KubeObject.self)
                var seen: [String] = []
                for try await event in stream {
                    switch event {
                    case .added(let pod): seen.append("added \(pod.name) \(pod.resourceVersion ?? "")")
                    case .modified(let pod): seen.append("modified \(pod.resourceVersion ?? "")")
                    case .deleted(let pod): seen.append("deleted \(pod.resourceVersion ?? "") \(pod.kind ?? "")")
                    case .bookmark(let rv): seen.append("bookmark \(rv)")
                    case .error(let status): seen.append("error \(status.code ?? 0)")
                    }
                }
                #expect(seen == ["added a 11", "modified 12", "bookmark 15", "deleted 16 Pod", "error 500"])
                let request = try #require(server.requests.first)
                #expect(request.path == "/api/v1/namespaces/test/pods")
                #expect(request.query["watch"] == "true")
                #expect(request.query["resourceVersion"] == "10")
                #expect(request.query["allowWatchBookmarks"] == "true")
                #expect(request.query["timeoutSeconds"] == "30")
                #expect(request.query["labelSelector"] == "app in (kernel,x)")
            }
        }
    }

    @Test func expiredErrorEventIsThrownAsGone() async throws {
        let chunks: [FakeChunk] = [
            .data(watchLine("ADDED", podJSON("a", rv: "11"))),
            .data(watchLine("ERROR", ["kind": "Status", "status": "Failure", "code": 410, "reason": "Expired",
                                      "message": "too old resource version: 1 (11)"])),
            .hold,
        ]
        try await FakeHTTPServer.with({ _ in .stream(status: 200, chunks: chunks) }) { server in
            try await withTestClient(server.url) { client in
                let stream = try await client.watch(.pods, namespace: "test", as: KubeObject.self)
                var count = 0
                do {
                    for try await _ in stream { count += 1 }
                    Issue.record("expected gone")
                } catch KubernetesError.gone {
                }
                #expect(count == 1)
            }
        }
    }

    @Test func goneOnOpeningIsThrown() async throws {
        try await FakeHTTPServer.with({ _ in .status(410, reason: "Gone") }) { server in
            try await withTestClient(server.url) { client in
                do {
                    _ = try await client.watch(.pods, options: WatchOptions(resourceVersion: "1"), as: KubeObject.self)
                    Issue.record("expected gone")
                } catch KubernetesError.gone {
                }
            }
        }
    }

    @Test func cancellingTheConsumerEndsTheWatch() async throws {
        try await FakeHTTPServer.with({ _ in .stream(status: 200, chunks: [.data(watchLine("ADDED", podJSON("a", rv: "1"))), .hold]) }) { server in
            try await withTestClient(server.url) { client in
                let stream = try await client.watch(.pods, as: KubeObject.self)
                let start = ContinuousClock.now
                let received = await withTaskGroup(of: Int.self) { group in
                    group.addTask {
                        var count = 0
                        do { for try await _ in stream { count += 1 } } catch {}
                        return count
                    }
                    try? await Task.sleep(for: .milliseconds(300))
                    group.cancelAll()
                    return await group.next() ?? -1
                }
                #expect(received == 1)
                #expect(ContinuousClock.now - start < .seconds(5))
            }
        }
    }
}
