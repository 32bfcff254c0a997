import Foundation
import Testing

@testable import KubernetesAPI

@Suite("objects")
struct KubeObjectTests {
    private let podText = """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"k1","namespace":"ns","uid":"u","resourceVersion":"5",
         "generation":2,"labels":{"app":"kernel"},"annotations":{"a":"b"},"managedFields":[{"manager":"kubectl"}],
         "ownerReferences":[{"apiVersion":"v1","kind":"Secret","name":"s","uid":"su","controller":true}],
         "finalizers":["x/y"]},
         "spec":{"containers":[{"name":"k","image":"py","ports":[{"containerPort":8888}]}],"replicas":3,"ratio":0.5},
         "status":{"phase":"Running","podIP":"10.0.0.1"}}
        """

    @Test func decodeAccessAndRoundTrip() throws {
        let pod = try JSONDecoder().decode(KubeObject.self, from: Data(podText.utf8))
        #expect(pod.name == "k1")
        #expect(pod.namespace == "ns")
        #expect(pod.resourceVersion == "5")
        #expect(pod.metadata.generation == 2)
        #expect(pod.labels == ["app": "kernel"])
        #expect(pod.annotations["a"] == "b")
        #expect(pod.ownerReferences.first?.name == "s")
        #expect(pod.metadata.controllerReference?.uid == "su")
        #expect(pod.finalizers == ["x/y"])
        #expect(pod.status?["phase"]?.stringValue == "Running")
        #expect(pod[path: "spec", "containers"]?[0]?["ports"]?[0]?["containerPort"]?.intValue == 8888)
        #expect(pod.metadata.additionalFields["managedFields"] != nil)

        let reencoded = try JSONEncoder().encode(pod)
        let original = try JSONDecoder().decode(KubeJSON.self, from: Data(podText.utf8))
        #expect(try JSONDecoder().decode(KubeJSON.self, from: reencoded) == original)
        #expect(original[path: "spec", "replicas"] == .int(3))
        #expect(original[path: "spec", "ratio"] == .double(0.5))
    }

    @Test func mutationHelpers() throws {
        var pod = KubeObject(.pods, name: "k", namespace: "ns")
        pod.labels["a"] = "1"
        pod[path: "spec", "nodeName"] = "n1"
        pod[path: "status", "conditions"] = [["type": "Ready", "status": "True"]]
        #expect(pod.spec?["nodeName"] == "n1")
        pod[path: "spec", "nodeName"] = nil
        #expect(pod.spec == .emptyObject)
        var json = pod.json
        #expect(json["kind"] == "Pod")
        #expect(json[path: "metadata", "labels", "a"] == "1")
        json[path: "metadata", "annotations", "x"] = "y"
        let back = try KubeObject(json: json)
        #expect(back.annotations["x"] == "y")
        let owner = KubeObject(apiVersion: "jupyter.org/v1", kind: "JupyterGateway",
                               metadata: { var m = ObjectMeta(name: "g"); m.uid = "gu"; return m }())
        #expect(owner.ownerReference() == OwnerReference(
            apiVersion: "jupyter.org/v1", kind: "JupyterGateway", name: "g", uid: "gu", controller: true,
            blockOwnerDeletion: true))
    }

    struct Gateway: KubernetesObject, Equatable {
        struct Spec: Codable, Equatable, Sendable { var replicas: Int; var image: String }
        var apiVersion = "jupyter.org/v1alpha1"
        var kind = "JupyterGateway"
        var metadata: ObjectMeta
        var spec: Spec
    }

    @Test func typedCustomResourcesWork() throws {
        let text = #"{"apiVersion":"jupyter.org/v1alpha1","kind":"JupyterGateway","metadata":{"name":"g","namespace":"n"},"spec":{"replicas":2,"image":"eg"}}"#
        let gateway = try JSONDecoder().decode(Gateway.self, from: Data(text.utf8))
        #expect(gateway.objectKey == ObjectKey(namespace: "n", name: "g"))
        let dynamic = try KubeJSON(encoding: gateway).decode(as: KubeObject.self)
        #expect(dynamic[path: "spec", "replicas"] == 2)
    }

    @Test func objectKeys() {
        #expect(ObjectKey("ns/name") == ObjectKey(namespace: "ns", name: "name"))
        #expect(ObjectKey("name").namespace == nil)
        #expect(ObjectKey(namespace: "", name: "x").description == "x")
        #expect(ObjectKey(namespace: "a", name: "x").description == "a/x")
    }

    @Test func kubeconfigYAMLValuesDecodeAsJSON() throws {
        let json = try KubeJSON(encoding: ["a": 1, "b": 2])
        #expect(json["a"] == 1)
    }
}
