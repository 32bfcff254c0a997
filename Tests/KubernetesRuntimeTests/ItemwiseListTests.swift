import Foundation
import KubernetesAPI
import NIOCore
import Testing
@testable import KubernetesRuntime

/// One undecodable item must not take a list down (issue 14, finding 9).
struct ItemwiseListTests {
    static func nested(_ depth: Int) -> String {
        String(repeating: "{\"x\":", count: depth) + "1" + String(repeating: "}", count: depth)
    }

    @Test func aDeepItemIsSkippedAndTheOthersDecode() throws {
        let body = """
            {"kind":"PodList","metadata":{"resourceVersion":"42","continue":""},"items":[
              {"metadata":{"name":"good","namespace":"a"}},
              {"metadata":{"name":"deep","namespace":"b","uid":"u1"},"spec":\(Self.nested(600))},
              {"metadata":{"name":"also-good","namespace":"c"},"data":{"s":"with \\"quotes\\" and ] } brackets"}}
            ]}
            """
        let list = try ItemwiseList<KubeObject>(body: ByteBuffer(string: body), resource: .pods)
        #expect(list.items.map(\.name) == ["good", "also-good"])
        #expect(list.items.allSatisfy { $0.kind == "Pod" })
        #expect(list.metadata.resourceVersion == "42")
        #expect(list.undecodable.count == 1)
        #expect(list.undecodable.first?.metadata?.name == "deep")
        #expect(list.undecodable.first?.metadata?.uid == "u1")
        #expect(list.undecodable.first?.reason.contains("x") == false, "the reason carries none of the content")
    }

    @Test func nullOrMissingItemsAreEmpty() throws {
        #expect(try ItemwiseList<KubeObject>(body: ByteBuffer(string: #"{"metadata":{},"items":null}"#), resource: .pods).items.isEmpty)
        #expect(try ItemwiseList<KubeObject>(body: ByteBuffer(string: #"{"metadata":{}}"#), resource: .pods).items.isEmpty)
    }

    @Test func aBodyThatIsNoListThrows() {
        #expect(throws: ListDecodingError.self) { try ItemwiseList<KubeObject>(body: ByteBuffer(string: "[1,2]"), resource: .pods) }
        #expect(throws: ListDecodingError.self) { try ItemwiseList<KubeObject>(body: ByteBuffer(string: #"{"items":{"#), resource: .pods) }
    }

    @Test func slicesHandleAnyDepthWithoutRecursion() {
        let text = Array("[\(Self.nested(100_000)), 2, \"a,b\"]".utf8)
        let elements = JSONSlices.elements(of: text, in: 0..<text.count)
        #expect(elements?.count == 3)
        #expect(elements.map { String(decoding: text[$0[2]], as: UTF8.self) } == "\"a,b\"")
    }
}
