import JupyterProtocol
import Testing
@testable import KernelGateway

/// Finding 7: one budget for everything held on kernels' and clients' behalf, with per-kernel shares.
@Suite("Memory budget")
struct MemoryBudgetTests {
    func message(bytes: Int, type: String = "stream") -> ChannelMessage {
        ChannelMessage(channel: .iopub, parts: MessageFactory.make(
            msgType: type, content: ["text": .string(String(repeating: "x", count: bytes))], session: "s"))
    }

    @Test func chargesStopAtTheKernelShareAndAtTheTotal() {
        let budget = MemoryBudget(total: 1000, kernelShare: 600)
        let a = budget.account(kernelID: "a"), b = budget.account(kernelID: "b")
        #expect(a.charge(600))
        #expect(!a.charge(1))  // a's share is used up
        #expect(b.charge(400))
        #expect(!b.charge(1))  // the total is used up
        a.release(600)
        #expect(b.charge(200))
        #expect(budget.used == 600)
        #expect(budget.used(byKernel: "b") == 600)
    }

    @Test func aClientOverItsKernelsShareIsDisconnectedAsTooSlowAndReleasesItsBytes() {
        let budget = MemoryBudget(total: 1 << 20, kernelShare: 20_000)
        let client = ClientConnection(sessionID: "s", wsProtocol: .legacy, queueMessages: 1000, queueBytes: 1 << 20)
        client.charge(to: budget.account(kernelID: "k"))
        var accepted = 0
        for _ in 0..<10 where client.enqueue(message(bytes: 5000)) { accepted += 1 }
        #expect(accepted == 3)
        #expect(client.closeReason?.isTooSlow == true)
        #expect(budget.used == 0)
    }

    @Test func queuedBytesGoBackWhenSentAndWhenTheClientGoes() async {
        let budget = MemoryBudget(total: 1 << 20, kernelShare: 1 << 20)
        do {
            let client = ClientConnection(sessionID: "s", wsProtocol: .legacy, queueMessages: 100, queueBytes: 1 << 20)
            client.charge(to: budget.account(kernelID: "k"))
            #expect(client.enqueue(message(bytes: 1000)))
            #expect(client.enqueue(message(bytes: 1000)))
            #expect(budget.used > 2000)
            _ = await client.next()
            #expect(budget.used > 1000 && budget.used < 2000)
            client.close(reason: .clientDisconnected)
        }
        #expect(budget.used == 0)
    }

    @Test func theOfflineBufferDropsItsOldestOutputWhenTheShareIsUsedUp() {
        let budget = MemoryBudget(total: 1 << 20, kernelShare: 12_000)
        let other = budget.account(kernelID: "k")
        #expect(other.charge(4000))  // e.g. a slow client of the same kernel
        var buffer = OfflineBuffer(maxMessages: 100, maxBytes: 1 << 20, account: budget.account(kernelID: "k"))
        buffer.append(message(bytes: 10, type: "status"), isStatus: true)
        for _ in 0..<5 { buffer.append(message(bytes: 3000), isStatus: false) }
        #expect(buffer.messages.count == 3)  // status + 2 outputs fit in the 8000 bytes left
        #expect(buffer.messages.first?.isStatus == true)
        #expect(buffer.dropped == 3)
        #expect(budget.used(byKernel: "k") == 4000 + buffer.bytes)
        _ = buffer.takeAll()
        #expect(budget.used(byKernel: "k") == 4000)
    }
}
