import Foundation
import KernelGateway
import KubernetesAPI
import Testing
@testable import KernelGatewayHTTP

/// What the gateway records comes out of the Prometheus registry with help, type and bounded labels.
@Suite struct MetricsExpositionTests {
    @Test func recordedEventsAppearWithHelpTypeAndLabels() {
        let exposition = MetricsExposition()
        let metrics = exposition.metrics
        metrics.kernelStarted(provisioner: .local, after: .milliseconds(1500))
        metrics.kernelStartFailed(provisioner: .kubernetes, error: .launchFailed(.podFailed(pod: "p", reason: "ErrImagePull")))
        metrics.kernelStartFailed(provisioner: .kubernetes, error: .launchFailed(.podFailed(pod: "p", reason: "made-up \"reason\"")))
        metrics.kernelCulled(.idle)
        metrics.kernelRestarted(automatic: true)
        metrics.clientAttached()
        metrics.relayed(.clientToKernel, bytes: 100)
        metrics.relayed(.kernelToClient, bytes: 40)
        metrics.relayed(.kernelToClient, bytes: 2)
        metrics.clientDetached(reason: .tooSlow(messages: 1, bytes: 1))
        metrics.kubernetesAPIError(verb: "create", error: KubernetesError(kind: .forbidden, code: 403, message: "no"))
        var bytes: [UInt8] = []
        exposition.registry.emit(into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains("# TYPE elastic_jupyter_gateway_kernel_start_seconds histogram"))
        #expect(lines.contains("# HELP elastic_jupyter_gateway_kernel_starts_total Kernel starts by provisioner and result."))
        #expect(lines.contains(#"elastic_jupyter_gateway_kernel_start_seconds_bucket{provisioner="local",le="2.0"} 1"#))
        #expect(lines.contains(#"elastic_jupyter_gateway_kernel_start_seconds_bucket{provisioner="local",le="1.0"} 0"#))
        #expect(lines.contains(#"elastic_jupyter_gateway_kernel_start_failures_total{provisioner="kubernetes",reason="image_pull"} 1"#))
        #expect(lines.contains(#"elastic_jupyter_gateway_kernel_start_failures_total{provisioner="kubernetes",reason="pod_failed"} 1"#))
        #expect(lines.contains(#"elastic_jupyter_gateway_kernel_culls_total{reason="idle"} 1"#))
        #expect(lines.contains(#"elastic_jupyter_gateway_kernel_culls_total{reason="max_age"} 0"#))
        #expect(lines.contains(#"elastic_jupyter_gateway_kernel_restarts_total{kind="automatic"} 1"#))
        #expect(lines.contains(#"elastic_jupyter_gateway_messages_relayed_total{direction="kernel_to_client"} 2"#))
        #expect(lines.contains(#"elastic_jupyter_gateway_bytes_relayed_total{direction="client_to_kernel"} 100"#))
        #expect(lines.contains(#"elastic_jupyter_gateway_slow_client_disconnects_total{reason="queue"} 1"#))
        #expect(lines.contains("elastic_jupyter_gateway_websocket_clients 0.0") || lines.contains("elastic_jupyter_gateway_websocket_clients 0"))
        #expect(lines.contains(#"elastic_jupyter_gateway_kubernetes_api_errors_total{verb="create",error="forbidden"} 1"#))
        #expect(!text.contains("made-up"))
    }

    @Test func everyMetricNameHasHelp() {
        for name in [GatewayMetricNames.kernels, GatewayMetricNames.starts, GatewayMetricNames.startSeconds, GatewayMetricNames.startFailures,
                     GatewayMetricNames.culls, GatewayMetricNames.restarts, GatewayMetricNames.webSocketClients,
                     GatewayMetricNames.messagesRelayed, GatewayMetricNames.bytesRelayed, GatewayMetricNames.slowClientDisconnects,
                     GatewayMetricNames.kubernetesAPIErrors, GatewayMetricNames.gpuKernelSeconds] {
            #expect(GatewayMetricNames.help[name] != nil, "\(name)")
        }
    }
}
