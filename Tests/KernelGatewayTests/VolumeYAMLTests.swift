import Foundation
import JupyterProtocol
@testable import KernelGateway
import KubernetesAPI
import Testing

/// Finding 4: `KERNEL_VOLUMES` / `KERNEL_VOLUME_MOUNTS` are checked against the kernelspec first, then scanned
/// for anchors, aliases and tags before any YAML tree is built.
@Suite struct VolumeYAMLTests {
    /// `- &a0 [x, x, ...]` then `- &aN [*aN-1 × 10]`: 7 levels would be about 12 GB once expanded.
    static func aliasBomb(levels: Int = 7) -> String {
        var lines = ["- &a0 [x,x,x,x,x,x,x,x,x,x]"]
        for level in 1...levels {
            let previous = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ",")
            lines.append("- &a\(level) [\(previous)]")
        }
        return lines.joined(separator: "\n")
    }

    @Test func anAliasBombIsRefusedInMilliseconds() throws {
        let bomb = Self.aliasBomb()
        #expect(bomb.utf8.count < 600)
        let clock = ContinuousClock()
        let started = clock.now
        let error = try KernelPodRendererTests.failure(ours: KernelPodRendererTests.volumeSpec, env: ["KERNEL_VOLUMES": bomb])
        #expect(clock.now - started < .milliseconds(200))
        guard case .invalidRequest(let text)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(text.contains("anchors, aliases"))
    }

    @Test func volumesAreRefusedBeforeParsingWhenTheKernelspecAllowsNone() throws {
        // Not even scanned: the kernelspec allows no volumes.
        let error = try KernelPodRendererTests.failure(env: ["KERNEL_VOLUMES": Self.aliasBomb(), "KERNEL_VOLUME_MOUNTS": "not: [valid"])
        guard case .limitReached(let text)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(text.contains("allows no volumes"))
    }

    @Test(arguments: [
        "- &a {name: scratch}\n- *a",
        "[{name: scratch}, *x]",
        "- !!python/object {name: scratch}",
        "- name: !custom scratch",
        "- {name: &n scratch}",
        String(repeating: "[", count: 40) + String(repeating: "]", count: 40),
        "- name: " + String(repeating: "x", count: 5000),
    ])
    func anchorsAliasesTagsAndOversizedTextsAreInvalid(text: String) throws {
        let error = try KernelPodRendererTests.failure(ours: KernelPodRendererTests.volumeSpec, env: ["KERNEL_VOLUMES": text])
        #expect(KernelPodRendererTests.isInvalid(error), "\(text.prefix(60)): \(String(describing: error))")
    }

    @Test(arguments: [
        #"[{"name": "scratch", "note": "a *star & an &amp; !bang # not a comment"}]"#,
        "- name: scratch # a comment with *stars and &amps\n",
        "- {name: 'scratch', x: 'it''s *fine'}",
        "- name: a*b&c!d\n  mountPath: /x\n",
    ])
    func quotedAndEmbeddedMarksAreFine(text: String) throws {
        #expect(throws: Never.self) { try RequestYAML.check(text) }
        let items = try RequestYAML.parseListOfMappings(text, variable: "KERNEL_VOLUMES")
        #expect(items.count == 1)
    }
}
