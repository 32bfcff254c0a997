import Foundation
import JupyterProtocol
import Testing
@testable import KernelGateway

@Suite("Culling decisions (injectable clock)")
struct CullPolicyTests {
    let t0 = Date(timeIntervalSince1970: 2_000_000)

    func kernel(phase: KernelPhase = .running, state: String = "idle", connections: Int = 0,
                idleFor: TimeInterval, age: TimeInterval = 1000) -> (CullCandidate, Date) {
        let now = t0.addingTimeInterval(age)
        return (CullCandidate(phase: phase, executionState: state, connections: connections,
                              lastActivity: now.addingTimeInterval(-idleFor), createdAt: t0), now)
    }

    @Test func offByDefault() {
        let (candidate, now) = kernel(idleFor: 1_000_000)
        #expect(CullPolicy.decide(candidate, configuration: CullConfiguration(), now: now) == .keep)
    }

    @Test func idleKernelIsCulledOnlyAfterTheTimeout() {
        let config = CullConfiguration(idleTimeout: 60)
        let (young, now1) = kernel(idleFor: 59)
        #expect(CullPolicy.decide(young, configuration: config, now: now1) == .keep)
        let (old, now2) = kernel(idleFor: 61)
        guard case .cull(let reason) = CullPolicy.decide(old, configuration: config, now: now2) else {
            Issue.record("expected cull"); return
        }
        #expect(reason.description.contains("idle for 61.0s"))
        #expect(reason.kind == .idle)
    }

    @Test func connectedKernelIsKeptUnlessCullConnected() {
        let (candidate, now) = kernel(connections: 1, idleFor: 100)
        #expect(CullPolicy.decide(candidate, configuration: CullConfiguration(idleTimeout: 60), now: now) == .keep)
        let culled = CullPolicy.decide(candidate, configuration: CullConfiguration(idleTimeout: 60, cullConnected: true), now: now)
        guard case .cull(let reason) = culled else { Issue.record("expected cull"); return }
        #expect(reason.kind == .idleConnected)
    }

    @Test func busyKernelIsKeptUnlessCullBusy() {
        let (candidate, now) = kernel(state: "busy", idleFor: 100)
        #expect(CullPolicy.decide(candidate, configuration: CullConfiguration(idleTimeout: 60), now: now) == .keep)
        let culled = CullPolicy.decide(candidate, configuration: CullConfiguration(idleTimeout: 60, cullBusy: true), now: now)
        guard case .cull(let reason) = culled else { Issue.record("expected cull"); return }
        #expect(reason.kind == .idleBusy)
    }

    @Test(arguments: [KernelPhase.starting, .restarting(automatic: true), .restarting(automatic: false), .shuttingDown])
    func startingOrRestartingKernelsAreNeverCulled(phase: KernelPhase) {
        let (candidate, now) = kernel(phase: phase, idleFor: 10_000, age: 10_000)
        let config = CullConfiguration(idleTimeout: 1, cullConnected: true, cullBusy: true, maxAge: 1)
        #expect(CullPolicy.decide(candidate, configuration: config, now: now) == .keep)
    }

    @Test func maxAgeCullsEvenAnActiveConnectedKernel() {
        let (candidate, now) = kernel(state: "busy", connections: 2, idleFor: 0, age: 3601)
        let decision = CullPolicy.decide(candidate, configuration: CullConfiguration(maxAge: 3600), now: now)
        guard case .cull(let reason) = decision else { Issue.record("expected cull"); return }
        #expect(reason.description.contains("maximum age"))
        #expect(reason.kind == .maxAge)
    }

    @Test func deadKernelsAreCulledWhenIdle() {
        let (candidate, now) = kernel(phase: .dead(reason: "x"), state: "dead", idleFor: 100)
        #expect(CullPolicy.decide(candidate, configuration: CullConfiguration(idleTimeout: 60), now: now) != .keep)
    }

    @Test func kernelspecOverridesTheGlobalSettings() {
        let spec = KernelSpec(name: "gpu", resourceDirectory: "/x", argv: ["x"], displayName: "GPU", language: "python",
                              metadata: ["elastic_jupyter": .object(["cull_idle_timeout": .number(30), "cull_connected": .bool(true),
                                                                    "cull_busy": .bool(true), "cull_max_age": .number(28800)])])
        let config = CullConfiguration(idleTimeout: 3600).applying(overridesOf: spec)
        #expect(config.idleTimeout == 30)
        #expect(config.maxAge == 28800)
        #expect(config.cullConnected)
        #expect(config.cullBusy)
        let plain = CullConfiguration(idleTimeout: 3600).applying(overridesOf: KernelSpecFixture.make())
        #expect(plain == CullConfiguration(idleTimeout: 3600))
    }
}

@Suite("Activity model")
struct ActivityModelTests {
    @Test(arguments: ["execute_request", "complete_request", "inspect_request", "comm_msg", "input_reply"])
    func userRequestsAreActivity(type: String) {
        #expect(ActivityModel.isActivity(clientMessageType: type))
        #expect(ActivityModel.isActivity(kernelMessageParentType: type))
    }

    @Test(arguments: ["kernel_info_request", "usage_request", "comm_info_request", "shutdown_request", "heartbeat"])
    func housekeepingIsNot(type: String) {
        #expect(!ActivityModel.isActivity(clientMessageType: type))
        #expect(!ActivityModel.isActivity(kernelMessageParentType: type))
    }

    @Test func missingTypesAreNotActivity() {
        #expect(!ActivityModel.isActivity(clientMessageType: nil))
        #expect(!ActivityModel.isActivity(kernelMessageParentType: nil))
    }
}

@Suite("Limits and user lists")
struct KernelLimitsTests {
    @Test func totalAndPerUserLimitsNameTheLimit() {
        let limits = KernelLimits(maxKernels: 3, maxKernelsPerUser: 2)
        #expect(throws: Never.self) { try limits.check(total: 2, forUser: "bob", userCount: 1) }
        do {
            try limits.check(total: 3, forUser: "bob", userCount: 0)
            Issue.record("expected refusal")
        } catch {
            #expect(error.description.contains("max-kernels = 3"))
        }
        do {
            try limits.check(total: 1, forUser: "bob", userCount: 2)
            Issue.record("expected refusal")
        } catch {
            #expect(error.description.contains("max-kernels-per-user = 2"))
            #expect(error.description.contains("'bob'"))
        }
    }

    @Test func globalAndKernelspecListsCombineAsEG() {
        let spec = KernelSpec(name: "s", resourceDirectory: "/x", argv: ["x"], displayName: "S", language: "python",
                              authorizedUsers: ["alice", "eve"], unauthorizedUsers: ["eve"])
        let open = KernelSpecFixture.make()
        let limits = KernelLimits(authorizedUsers: ["bob"], unauthorizedUsers: ["mallory"])
        #expect(limits.allows(user: "bob", spec: open))
        #expect(!limits.allows(user: "carol", spec: open))
        #expect(!limits.allows(user: "mallory", spec: open))
        #expect(!limits.allows(user: nil, spec: open))
        // The kernelspec's authorized list replaces the global one; unauthorized lists unite.
        #expect(limits.allows(user: "alice", spec: spec))
        #expect(!limits.allows(user: "bob", spec: spec))
        #expect(!limits.allows(user: "eve", spec: spec))
        #expect(KernelLimits().allows(user: nil, spec: open))
    }
}
