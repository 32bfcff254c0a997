import Synchronization

/// The gateway-wide ceiling on memory held on kernels' and clients' behalf: every client send queue, offline
/// buffer and held (restart) queue charges the bytes it keeps and releases them when it lets go.
///
/// Two limits apply to every charge: the gateway's ``total`` and the kernel's ``kernelShare`` (one kernel's
/// clients and buffers together). A charge that would pass either is refused; the caller then drops something
/// (a slow client is disconnected, an offline buffer drops its oldest output, a held message is dropped).
/// Thread-safe; charges are O(1).
public final class MemoryBudget: Sendable {
    /// Bytes all kernels together may hold.
    public let total: Int
    /// Bytes one kernel (its clients' queues, offline buffers and held messages) may hold.
    public let kernelShare: Int
    private let state = Mutex(State())

    struct State {
        var used = 0
        var byKernel: [String: Int] = [:]
    }

    /// Creates a budget; `kernelShare` is capped at `total`.
    public init(total: Int, kernelShare: Int) {
        self.total = max(0, total)
        self.kernelShare = min(max(0, kernelShare), self.total)
    }

    /// A budget that never refuses (tests, tools).
    public static let unlimited = MemoryBudget(total: .max, kernelShare: .max)

    /// The account of one kernel in this budget.
    public func account(kernelID: String) -> MemoryAccount {
        MemoryAccount(budget: self, kernelID: kernelID)
    }

    /// Bytes held by all kernels now.
    public var used: Int { state.withLock { $0.used } }

    /// Bytes held for one kernel now.
    public func used(byKernel kernelID: String) -> Int { state.withLock { $0.byKernel[kernelID] ?? 0 } }

    func charge(_ bytes: Int, kernelID: String) -> Bool {
        guard bytes > 0 else { return true }
        return state.withLock { state in
            let mine = state.byKernel[kernelID] ?? 0
            guard bytes <= kernelShare - mine, bytes <= total - state.used else { return false }
            state.used += bytes
            state.byKernel[kernelID] = mine + bytes
            return true
        }
    }

    func release(_ bytes: Int, kernelID: String) {
        guard bytes > 0 else { return }
        state.withLock { state in
            let mine = (state.byKernel[kernelID] ?? 0) - bytes
            state.used -= bytes
            if mine > 0 { state.byKernel[kernelID] = mine } else { state.byKernel.removeValue(forKey: kernelID) }
        }
    }
}

/// One kernel's account in a ``MemoryBudget``.
public struct MemoryAccount: Sendable {
    let budget: MemoryBudget
    /// The kernel charged.
    public let kernelID: String

    /// Charges `bytes`; false (and nothing charged) when the kernel's share or the gateway's total would be passed.
    public func charge(_ bytes: Int) -> Bool { budget.charge(bytes, kernelID: kernelID) }

    /// Gives back `bytes` charged before.
    public func release(_ bytes: Int) { budget.release(bytes, kernelID: kernelID) }

    /// An account in an unlimited budget.
    public static func unlimited(kernelID: String = "-") -> MemoryAccount { MemoryBudget.unlimited.account(kernelID: kernelID) }
}
