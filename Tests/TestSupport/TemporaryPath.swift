import Foundation

/// A fresh path under the temporary directory (nothing there yet; its folder exists).
public func temporaryPath(_ name: String) -> String {
    temporaryDirectory() + "/" + name
}

/// A fresh, empty folder under the temporary directory.
public func temporaryDirectory() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("feedback-tests-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
