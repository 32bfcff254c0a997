import ElasticJupyterContract
import Testing

@Suite struct KernelPodLabelsTests {
    /// The gateway writes this label and the controller selects by it: a change of the function orphans every
    /// running kernel pod, so its output is pinned.
    @Test func userHashIsTheFirst40HexDigitsOfSHA256() {
        #expect(KernelPodLabels.userHash("alice") == "2bd806c97f0e00af1a1fc3328fa763a9269723c8")
        #expect(KernelPodLabels.userHash("").count == 40)
        #expect(KernelPodLabels.userHash("ä@x") != KernelPodLabels.userHash("a@x"))
    }

    @Test func tokenHashIsTheSHA256Hex() {
        #expect(UsersSecretFormat.tokenHash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func labelValuesAreValid() {
        #expect(KernelPodLabels.labelValue("alice@example.com") == "alice-example.com")
        #expect(KernelPodLabels.labelValue("-x-") == "x")
        #expect(KernelPodLabels.labelValue("__") == "")
        #expect(KernelPodLabels.labelValue("Ünïcode") == "n-code")
        #expect(KernelPodLabels.labelValue(String(repeating: "a", count: 80)).count == 63)
    }

    @Test func selectorsNameTheKernelComponentAndTheGateway() {
        #expect(KernelPodLabels.selector == "app.kubernetes.io/component=kernel")
        #expect(KernelPodLabels.selector(gateway: "gw one")
            == "app.kubernetes.io/component=kernel,elastic-jupyter.io/gateway=gw-one")
        #expect(KernelPodLabels.selector(gateway: "gw", notebook: "nb")
            == "app.kubernetes.io/component=kernel,elastic-jupyter.io/gateway=gw,elastic-jupyter.io/notebook=nb")
        #expect(KernelPodLabels.selector(gateway: "gw", userHash: KernelPodLabels.userHash("alice"))
            == "app.kubernetes.io/component=kernel,elastic-jupyter.io/gateway=gw,elastic-jupyter.io/user-hash=2bd806c97f0e00af1a1fc3328fa763a9269723c8")
    }

    @Test func maximumKeysFollowTheAmountKeys() {
        #expect(KernelSpecMetadata.maximum(of: KernelSpecMetadata.cpus) == KernelSpecMetadata.maxCPUs)
        #expect(KernelSpecMetadata.maximum(of: KernelSpecMetadata.memory) == KernelSpecMetadata.maxMemory)
        #expect(KernelSpecMetadata.maximum(of: KernelSpecMetadata.gpus) == KernelSpecMetadata.maxGPUs)
    }
}
