import Foundation
import Testing
@testable import KernelGateway

@Suite("Kernel lifecycle state machine")
struct KernelLifecycleTests {
    let t0 = Date(timeIntervalSince1970: 1_000_000)

    func runningMachine(autoRestart: Bool = true, max: Int = 5) -> KernelLifecycle {
        var machine = KernelLifecycle(autoRestart: autoRestart, maxAutomaticRestarts: max)
        _ = machine.handle(.launched)
        _ = machine.handle(.ready(at: t0))
        return machine
    }

    @Test func startReachesRunningAndReportsKernelState() {
        var machine = KernelLifecycle(autoRestart: true, maxAutomaticRestarts: 5)
        #expect(machine.executionState(reported: "busy") == "starting")
        #expect(machine.handle(.launched) == .none)
        #expect(machine.generation == 1)
        #expect(machine.handle(.ready(at: t0)) == .none)
        #expect(machine.phase == .running)
        #expect(machine.executionState(reported: "busy") == "busy")
        #expect(machine.executionState(reported: "starting") == "idle")
    }

    @Test func failedStartIsAbandoned() {
        var machine = KernelLifecycle(autoRestart: true, maxAutomaticRestarts: 5)
        _ = machine.handle(.launched)
        #expect(machine.handle(.launchFailed(.provisioner("exit 1"))) == .abandonStart(.provisioner("exit 1")))
        #expect(machine.phase == .terminated)
    }

    @Test func unexpectedDeathRestartsAutomatically() {
        var machine = runningMachine()
        let action = machine.handle(.processExited(generation: 1, at: t0.addingTimeInterval(1), description: "killed by signal 9"))
        #expect(action == .restartAutomatically)
        #expect(machine.phase == .restarting(automatic: true))
        #expect(machine.executionState(reported: "idle") == "restarting")
        _ = machine.handle(.launched)
        #expect(machine.handle(.ready(at: t0.addingTimeInterval(2))) == .none)
        #expect(machine.phase == .running)
    }

    @Test func deathWithoutAutoRestartIsDead() {
        var machine = runningMachine(autoRestart: false)
        let action = machine.handle(.processExited(generation: 1, at: t0, description: "killed by signal 9"))
        #expect(action == .declareDead(reason: "Kernel died: killed by signal 9"))
        #expect(machine.executionState(reported: "idle") == "dead")
    }

    @Test func exitOfAnOldGenerationIsIgnored() {
        var machine = runningMachine()
        #expect(machine.handle(.restartRequested) == .proceedWithRestart)
        _ = machine.handle(.launched)
        _ = machine.handle(.ready(at: t0))
        #expect(machine.handle(.processExited(generation: 1, at: t0, description: "old")) == .none)
        #expect(machine.phase == .running)
    }

    @Test func repeatedCrashesEndDeadAfterTheLimit() {
        var machine = runningMachine(max: 5)
        var now = t0
        var last: KernelLifecycle.Action = .none
        for _ in 0..<6 {
            now = now.addingTimeInterval(1)   // crashes quickly: never stable
            last = machine.handle(.processExited(generation: machine.generation, at: now, description: "crash"))
            if case .restartAutomatically = last {
                _ = machine.handle(.launched)
                _ = machine.handle(.ready(at: now))
            }
        }
        guard case .declareDead = last else {
            Issue.record("expected dead after 6 crashes, got \(last)")
            return
        }
        if case .dead = machine.phase {} else { Issue.record("phase \(machine.phase)") }
    }

    @Test func failedAutomaticRelaunchesEndDead() {
        var machine = runningMachine(max: 5)
        _ = machine.handle(.processExited(generation: 1, at: t0, description: "crash"))
        var actions: [KernelLifecycle.Action] = []
        for _ in 0..<5 { actions.append(machine.handle(.launchFailed(.provisioner("no python")))) }
        #expect(actions.dropLast().allSatisfy { $0 == .restartAutomatically })
        guard case .declareDead = actions.last else { Issue.record("got \(actions)"); return }
    }

    @Test func stableRunResetsTheRestartCount() {
        var machine = runningMachine(max: 1)
        #expect(machine.handle(.processExited(generation: 1, at: t0.addingTimeInterval(1), description: "c")) == .restartAutomatically)
        _ = machine.handle(.launched)
        _ = machine.handle(.ready(at: t0.addingTimeInterval(2)))
        // Ran for 100 s: stable, so one more automatic restart is allowed.
        #expect(machine.handle(.processExited(generation: 2, at: t0.addingTimeInterval(102), description: "c")) == .restartAutomatically)
    }

    @Test func shutdownWinsAndIsTerminal() {
        var machine = runningMachine()
        #expect(machine.handle(.shutdownRequested) == .proceedWithShutdown)
        #expect(machine.handle(.shutdownRequested) == .reject(reason: "already shutting down"))
        #expect(machine.handle(.restartRequested) == .reject(reason: "shutting down"))
        #expect(machine.handle(.processExited(generation: 1, at: t0, description: "x")) == .reject(reason: "shutting down"))
        #expect(machine.handle(.shutdownCompleted) == .none)
        #expect(machine.phase == .terminated)
        #expect(machine.handle(.restartRequested) == .reject(reason: "terminated"))
    }

    @Test func restartOfADeadKernelIsAllowed() {
        var machine = runningMachine(autoRestart: false)
        _ = machine.handle(.processExited(generation: 1, at: t0, description: "x"))
        #expect(machine.handle(.restartRequested) == .proceedWithRestart)
        #expect(machine.handle(.restartRequested) == .reject(reason: "restarting"))
    }
}
