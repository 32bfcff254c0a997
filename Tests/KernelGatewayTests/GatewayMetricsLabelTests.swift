import Foundation
import Testing
@testable import KernelGateway

/// Metric label values come from fixed sets, and GPU kernels' idle and busy seconds add up.
@Suite struct GatewayMetricsLabelTests {
    @Test(arguments: [
        ("ErrImagePull", "image_pull"), ("ImagePullBackOff", "image_pull"), ("InvalidImageName", "image_pull"),
        ("Unschedulable", "unschedulable"), ("CreateContainerConfigError", "container_config"), ("OOMKilled", "oom_killed"),
        ("Evicted", "evicted"), ("CrashLoopBackOff", "container_failed"), ("the gateway watches 50 namespaces", "pod_failed"),
        ("ErrImagePull: rpc error: pull access denied", "image_pull"), ("Unschedulable: 0/3 nodes are available", "unschedulable"),
        ("ErrImagePullX: x", "pod_failed"),
    ])
    func podReasonsMapToAFixedSet(reason: String, label: String) {
        let failure = StartFailure.podFailed(pod: "kernel-x", reason: reason)
        #expect(failure.metricReason == label)
        #expect(StartFailure.metricReasons.contains(label))
    }

    @Test func everyStartFailureHasALabelFromTheSet() {
        let failures: [StartFailure] = [
            .provisioner("x"), .ended(.exited(code: 1)), .timedOut(.seconds(1)), .podTimedOut(pod: "p", timeout: .seconds(1), pending: nil),
            .unreachable("x"), .stoppedWhileStarting, .cancelled,
        ]
        for failure in failures { #expect(StartFailure.metricReasons.contains(failure.metricReason)) }
        #expect(StartFailure.ended(.lost(reason: "OOMKilled: The kernel container terminated (exit code 137)")).metricReason == "oom_killed")
        #expect(StartFailure.ended(.lost(reason: "The pod was deleted")).metricReason == "process_exited")
        #expect(GatewayError.limitReached("x").startFailureReason == "refused")
        #expect(GatewayError.launchFailed(.timedOut(.seconds(1))).startFailureReason == "timeout")
    }

    @Test func kernelStatesOutsideJupytersAreOther() {
        #expect(KernelStateLabel.label("busy") == "busy")
        #expect(KernelStateLabel.label("busy\u{0}forged") == "other")
    }

    @Test func ledgerCountsIdleAndBusyAndNothingElse() {
        let start = ContinuousClock.now
        var ledger = ExecutionTimeLedger(now: start)
        ledger.enter("starting", now: start)
        ledger.enter("idle", now: start + .seconds(2))
        ledger.enter("busy", now: start + .seconds(5))
        let first = ledger.take(now: start + .seconds(6))
        #expect(first.idle == 3)
        #expect(first.busy == 1)
        ledger.enter("busy", now: start + .seconds(7))  // no change: still busy
        ledger.enter("dead", now: start + .seconds(8))
        let second = ledger.take(now: start + .seconds(20))
        #expect(second.idle == 0)
        #expect(second.busy == 2)
    }

    @Test func gpuRequestComesFromTheVariableOrTheKernelspec() {
        let plain = KernelSpecFixture.make()
        let gpu = KernelSpec(name: "gpu", resourceDirectory: "/x", argv: ["x"], displayName: "GPU", language: "python",
                             metadata: ["elastic_jupyter": .object(["resources": .object(["gpus": .number(1)])])])
        func context(_ spec: KernelSpec, _ env: [String: String] = [:]) -> LaunchContext {
            LaunchContext(kernelID: "k", spec: spec, environment: env, workingDirectory: "/", user: nil)
        }
        #expect(!KernelGPURequest.requested(by: context(plain)))
        #expect(KernelGPURequest.requested(by: context(gpu)))
        #expect(KernelGPURequest.requested(by: context(plain, ["KERNEL_GPUS": "2"])))
        #expect(!KernelGPURequest.requested(by: context(gpu, ["KERNEL_GPUS": "0"])))
    }
}
