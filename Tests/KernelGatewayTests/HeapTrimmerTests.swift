import Foundation
import Testing

@testable import KernelGateway

@Suite("heap trimmer")
struct HeapTrimmerTests {
    /// `RssAnon` of this process, in KiB.
    private func anonymousKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    /// What a burst left in malloc's arenas after it was freed goes back to the system on a trim.
    @Test func freedBurstsAreGivenBack() throws {
        let blocks = 200_000, size = 1024  // ≈ 200 MiB in small blocks, as a flood of messages leaves them
        var pointers: [UnsafeMutableRawPointer] = []
        pointers.reserveCapacity(blocks)
        for _ in 0..<blocks {
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            pointer.initializeMemory(as: UInt8.self, repeating: 0xA5, count: size)
            pointers.append(pointer)
        }
        let peak = try anonymousKiB()
        // free all but every 1000th block, so no arena can simply shrink from its top
        for (index, pointer) in pointers.enumerated() where index % 1000 != 999 { pointer.deallocate() }
        let beforeTrim = try anonymousKiB()

        #expect(HeapTrimmer.trimNow())
        let afterTrim = try anonymousKiB()
        for (index, pointer) in pointers.enumerated() where index % 1000 == 999 { pointer.deallocate() }

        #expect(peak - afterTrim > 100_000, "peak \(peak) KiB, freed \(beforeTrim) KiB, trimmed \(afterTrim) KiB")
        #expect(beforeTrim - afterTrim > 100_000, "freed \(beforeTrim) KiB, trimmed \(afterTrim) KiB")
    }
}
