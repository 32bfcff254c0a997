import ElasticJupyterContract
import Foundation
import JupyterProtocol
@testable import KernelGateway
import KubernetesAPI
import Testing

/// A user's workspace in their kernel pods (issue 17 item 4): the claim mounted where the notebook server has it,
/// the kernel starting in the notebook's directory, pinned to the notebook server's node for a ReadWriteOnce claim.
@Suite struct KernelWorkspaceTests {
    typealias R = KernelPodRendererTests

    func render(_ workspace: KernelWorkspace?, path: String?, template: String? = nil, env: [String: String] = [:],
                configuration: KubernetesProvisionerConfiguration = .init(namespace: "kernels", gatewayName: "gw-1"))
        throws -> KernelPodRenderer.Rendered {
        let directory = try R.SpecDirectory(template: template)
        var context = R.context(R.spec(directory), env: env)
        context.workspace = workspace
        context.notebookPath = path
        return try KernelPodRenderer(configuration: configuration).render(context, key: "k")
    }

    func workspaceVolumes(_ rendered: KernelPodRenderer.Rendered) -> [KubeJSON] {
        (rendered.pod.json[path: "spec", "volumes"]?.arrayValue ?? []).filter { $0["name"] == "workspace" }
    }

    @Test(arguments: [
        ("analysis/report.ipynb", "/home/jovyan/work/analysis"),
        ("report.ipynb", "/home/jovyan/work"),
        ("work/analysis/", "/home/jovyan/work/work/analysis"),
        (nil, "/home/jovyan/work"),
        ("../../etc/passwd", "/home/jovyan/work"),
        ("/etc/passwd", "/home/jovyan/work"),
        ("a/./b.ipynb", "/home/jovyan/work"),
        ("a\u{1b}[31m/b.ipynb", "/home/jovyan/work"),
    ] as [(String?, String)])
    func theKernelStartsInTheNotebooksDirectory(path: String?, expected: String) {
        let workspace = KernelWorkspace(claim: "alice-work", mountPath: "/home/jovyan/work")
        #expect(workspace.workingDirectory(notebookPath: path) == expected)
    }

    @Test func theUsersClaimIsMountedAtTheNotebooksPathAndTheGatewaysIsNot() throws {
        let rendered = try render(KernelWorkspace(claim: "alice-work", mountPath: "/home/jovyan/work"),
                                  path: "analysis/report.ipynb",
                                  configuration: .init(namespace: "kernels", gatewayName: "gw-1", workspaceClaim: "shared"))
        let volumes = workspaceVolumes(rendered)
        #expect(volumes.count == 1)
        #expect(volumes.first?[path: "persistentVolumeClaim", "claimName"] == "alice-work", "the user's, not the gateway's")
        let container = R.container(rendered)
        #expect(container["volumeMounts"]?.arrayValue?.contains { $0["name"] == "workspace" && $0["mountPath"] == "/home/jovyan/work" } == true)
        #expect(container["workingDir"] == "/home/jovyan/work/analysis")
        #expect(rendered.pod.json[path: "spec", "affinity"] == nil, "a ReadWriteMany claim works on any node")
        #expect(rendered.notes.isEmpty)
    }

    @Test func aClientsWorkingDirectoryCannotLeaveTheWorkspace() throws {
        let rendered = try render(KernelWorkspace(claim: "alice-work", mountPath: "/home/jovyan/work"), path: nil,
                                  env: ["KERNEL_WORKING_DIR": "/etc"])
        #expect(R.container(rendered)["workingDir"] == "/home/jovyan/work")
    }

    @Test func aReadWriteOnceClaimPinsTheKernelToTheNotebookServersNode() throws {
        let labels = ["app.kubernetes.io/component": "notebook", "elastic-jupyter.io/notebook": "alice"]
        let rendered = try render(KernelWorkspace(claim: "alice-work", mountPath: "/home/jovyan/work", notebookPodLabels: labels),
                                  path: "x.ipynb")
        let term = rendered.pod.json[path: "spec", "affinity", "podAffinity", "requiredDuringSchedulingIgnoredDuringExecution"]?[0]
        #expect(term?["topologyKey"] == "kubernetes.io/hostname")
        #expect(term?[path: "labelSelector", "matchLabels"] == KubeJSON(labels))
        #expect(workspaceVolumes(rendered).count == 1)
    }

    @Test func aKernelspecPinnedElsewhereStartsWithoutAReadWriteOnceWorkspaceAndSaysSo() throws {
        let gpuTemplate = """
        spec:
          nodeSelector:
            accelerator: a100
          containers:
            - name: kernel
              resources:
                limits:
                  nvidia.com/gpu: 1
        """
        let rendered = try render(KernelWorkspace(claim: "alice-work", mountPath: "/home/jovyan/work",
                                                  notebookPodLabels: ["elastic-jupyter.io/notebook": "alice"]),
                                  path: "x.ipynb", template: gpuTemplate)
        #expect(workspaceVolumes(rendered).isEmpty)
        #expect(rendered.pod.json[path: "spec", "affinity"] == nil)
        #expect(rendered.notes.count == 1 && rendered.notes[0].contains("alice-work"), "\(rendered.notes)")
        #expect(rendered.pod.json[path: "spec", "nodeSelector", "accelerator"] == "a100", "the kernelspec's placement is kept")
    }

    @Test(arguments: [
        ("/home/jovyan/work/analysis", "/home/jovyan/work/analysis"),
        ("/home/jovyan/work/analysis/", "/home/jovyan/work/analysis"),
        ("/home/jovyan/work", "/home/jovyan/work"),
        ("/home/jovyan/workshop", "/home/jovyan/work"),
        ("/home/jovyan/work/../../etc", "/home/jovyan/work"),
        ("relative/dir", "/home/jovyan/work"),
    ])
    func jupyterServersWorkingDirectoryIsUsedWhenInsideTheWorkspace(requested: String, expected: String) {
        let workspace = KernelWorkspace(claim: "alice-work", mountPath: "/home/jovyan/work")
        #expect(workspace.workingDirectory(notebookPath: nil, requested: requested) == expected)
    }

    @Test func aKernelRunsInItsUsersNamespaceWithEverythingItCreates() throws {
        let directory = try R.SpecDirectory(template: nil)
        var context = R.context(R.spec(directory), env: [:])
        context.workspace = KernelWorkspace(claim: "alice-work", mountPath: "/home/jovyan/work")
        context.namespace = "team-a"
        let rendered = try KernelPodRenderer(configuration: .init(namespace: "kernels", gatewayName: "gw-1")).render(context, key: "k")
        #expect(rendered.namespace == "team-a")
        #expect(rendered.secret.metadata.namespace == "team-a")
        #expect(R.container(rendered)["env"]?.arrayValue?.contains { $0["name"] == "KERNEL_NAMESPACE" && $0["value"] == "team-a" } == true)
        context.namespace = nil
        let home = try KernelPodRenderer(configuration: .init(namespace: "kernels", gatewayName: "gw-1")).render(context, key: "k")
        #expect(home.namespace == "kernels" && home.secret.metadata.namespace == "kernels")
    }

    @Test func anAdoptedPodTellsTheWorkspaceItMountsButNotTheGatewaysClaim() throws {
        let labels = ["elastic-jupyter.io/notebook": "alice"]
        let workspace = KernelWorkspace(claim: "team-files", mountPath: "/home/jovyan/work", notebookPodLabels: labels, subPath: "users/alice")
        let rendered = try render(workspace, path: "analysis/report.ipynb")
        #expect(R.container(rendered)["volumeMounts"]?.arrayValue?.contains { $0["subPath"] == "users/alice" } == true)
        let found = try #require(KernelWorkspace.mounted(in: rendered.pod))
        #expect(found.0 == workspace)
        #expect(found.1 == "analysis/")
        #expect(found.0.workingDirectory(notebookPath: found.1) == "/home/jovyan/work/analysis", "a relaunch starts where it was")
        let shared = try render(nil, path: nil, configuration: .init(namespace: "kernels", gatewayName: "gw-1", workspaceClaim: "shared"))
        #expect(KernelWorkspace.mounted(in: shared.pod) == nil)
        let template = """
        metadata:
          annotations:
            elastic-jupyter.io/workspace: shared
        """
        let forged = try render(nil, path: nil, template: template,
                                configuration: .init(namespace: "kernels", gatewayName: "gw-1", workspaceClaim: "shared"))
        #expect(forged.pod.metadata.annotations[KernelPodLabels.workspaceAnnotation] == nil, "a template cannot claim a workspace")
    }
}
