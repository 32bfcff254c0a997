// swift-tools-version:6.2
// The memory floor of the chosen HTTP stack: the smallest Hummingbird 2 + HummingbirdWebSocket server
// (one HTTP route, one WebSocket echo route). `measure.sh` builds it in release mode and reports its idle
// RSS, the number the gateway's own idle RSS is compared with in docs/performance.md.
import PackageDescription

let package = Package(
    name: "HelloFloor",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        .executableTarget(
            name: "HelloServer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ]
        )
    ]
)
